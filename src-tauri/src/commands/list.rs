// The app's IPC commands, by module: the one list. lib.rs registers their handlers from it and
// build.rs a permission for each (it `include!`s this file); a test holds
// capabilities/main.json and ui/src/lib/ipc.ts to it.
macro_rules! commands {
    ($then:ident) => {
        $then!(
            stack::watch_stack,
            stack::run_action,
            stack::cancel_action,
            logs::logs_set_view,
            logs::logs_watch,
            logs::logs_unwatch,
            logs::logs_window,
            logs::logs_find,
            logs::logs_line_text,
            logs::logs_export,
            project::settings,
            project::save_settings,
            project::open_project_dialog,
            project::open_recent,
            project::set_profiles,
            metrics::watch_metrics,
            metrics::unwatch_metrics,
            metrics::probe_again,
            inspect::inspect_service,
            files::files_list,
            files::files_save,
            terminal::terminal_open,
            terminal::terminal_input,
            terminal::terminal_resize,
            terminal::terminal_ack,
            terminal::terminal_close,
            stack::set_watch,
            logs::logs_find_marker,
            logs::set_alert,
            logs::logs_older,
        )
    };
}
