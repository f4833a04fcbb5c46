use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(qovery_deploy::run::main(
        qovery_deploy::inputs::Invocation::from_process(),
    ))
}
