// SIGINT / SIGTERM during training: the handler only records the request; the trainer finishes
// the current update, saves a checkpoint and exits non-zero.
#pragma once

namespace adallava::train {

// Installs the handlers (idempotent) and clears any earlier request.
void install_stop_handlers();
// Restores the previous handlers.
void remove_stop_handlers();
// The signal that asked to stop (SIGINT/SIGTERM), or 0.
int stop_requested();
// For tests and for callers that want to stop a run programmatically.
void request_stop(int signal_number);

}  // namespace adallava::train
