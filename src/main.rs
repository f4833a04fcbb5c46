use std::path::Path;
use std::process::ExitCode;

use qovery_deploy::handover::{self, CLEANUP_PROGRAM};
use qovery_deploy::inputs::Invocation;

fn main() -> ExitCode {
    qovery_deploy::neutral::install_panic_hook();
    // Started through a link named `qovery-deploy-cleanup` (the action's post-entrypoint, the
    // GitLab after_script): cancel what a killed run recorded, and nothing else.
    let program = std::env::args_os().next();
    let name = program
        .as_deref()
        .and_then(|p| Path::new(p).file_name())
        .and_then(|n| n.to_str());
    let invocation = Invocation::from_process();
    ExitCode::from(if name == Some(CLEANUP_PROGRAM) {
        handover::main(invocation)
    } else {
        qovery_deploy::run::main(invocation)
    })
}
