// Which checkpoint wrote a folder of answers. A resumed evaluation keeps the answers already in
// the folder; if the checkpoint at the same path was retrained or replaced since, they are stale
// and would be scored as the new model's.
#pragma once

#include <string>

namespace adallava::eval {

// Hash of a checkpoint folder: every file's path within it, its size and 16 sampled 4 KiB blocks
// (the whole file when small), so a 13 GB checkpoint costs a few hundred reads, not a full pass.
// Retraining rewrites every weight, so it always changes; an edit confined to unsampled bytes
// would not. A model given as one file is hashed the same way.
std::string checkpoint_fingerprint(const std::string& model_path);

// Records the checkpoint in <answers_dir>/model.json. Fails, touching nothing, when the folder
// holds answers written by a checkpoint with another fingerprint.
void claim_answer_folder(const std::string& answers_dir, const std::string& model_path,
                         const std::string& fingerprint);

}  // namespace adallava::eval
