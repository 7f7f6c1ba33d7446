//! The end-to-end tests: one module per area, all in one test binary, so the suite links once
//! rather than once per file. nextest still runs each test in a process of its own.

mod app;
mod app_drift;
mod app_files;
mod app_inspect;
mod app_stack;
mod app_terminal;
mod berthctl;
mod berthctl_exec;
mod engine;
mod engine_attach;
mod engine_daemon_restart;
mod engine_drift;
mod engine_endpoint;
mod engine_exec;
mod engine_files;
mod engine_hash;
mod engine_inspect;
mod engine_interop;
mod engine_keys;
mod engine_lifecycle;
mod engine_networks;
mod engine_outage;
mod engine_pull;
mod engine_recreate;
mod engine_state;
mod engine_tty;
mod engine_up;
mod engine_wait;
mod logs_follow;
mod logs_hostile;
mod observe_engine_restart;
mod observe_ports;
mod observe_probe;
mod observe_stats;
mod testbed;
