//! `qovery-mock` command line: serve the mock, or run a command (or the `qovery-deploy`
//! demo) against a mock started for it.

use std::env;
use std::ffi::OsString;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{ExitCode, ExitStatus};
use std::time::Duration;

use qovery_mock::{DEMO_TOKEN, Endpoint, Fault, MockConfig, MockServer, PRESETS, Scenario, ids};
use tokio::runtime::Runtime;

const USAGE: &str = "\
qovery-mock: a stateful local mock of the Qovery REST API

USAGE:
    qovery-mock [OPTIONS] serve                 run until Ctrl-C
    qovery-mock [OPTIONS] exec -- CMD [ARGS...] run CMD against a mock started for it
    qovery-mock [OPTIONS] demo [-- EXTRA...]    run qovery-deploy against a mock
    qovery-mock --help

OPTIONS:
    --scenario NAME   behaviour to simulate (default: happy), see below
    --step-ms N       duration of one state-machine step in ms (default: 1500)
    --port N          port for `serve` (default: 0, any free port)
    --show-requests   print the received requests (METHOD path) to stderr at the end
    --fault F         inject a fault (repeatable): a preset name or a fault spec, see below

exec/demo set INPUT_API_URL to the mock's URL and, unless already set,
INPUT_API_TOKEN=qov_mock_demo_token and INPUT_ENVIRONMENT_ID=<fixture environment>.
demo also sets (unless already set) INPUT_APPLICATIONS=api,web INPUT_CONTAINERS=worker
INPUT_JOBS=migrate INPUT_HELMS=ingress-nginx=4.11.2 INPUT_DATABASES=postgres
INPUT_COMMIT_SHA=<sha> INPUT_POLL_INTERVAL=1s INPUT_TIMEOUT=2m, and runs
`$CARGO run -q -p qovery-deploy --` under cargo, else the qovery-deploy binary next to
qovery-mock, else qovery-deploy from PATH. exec and demo exit with the command's code.

SCENARIOS:
";

const FAULT_SYNTAX: &str = "
FAULTS (--fault NAME or --fault SPEC; faults apply in the order given):
    SPEC      ENDPOINT:ITEM[,ITEM...]     e.g. statuses:429,retry-after=120,after=deploys
    ENDPOINT  an alias (below) or 'METHOD /path/pattern' (* or {name} = one id segment,
              ** = any segments; method * = any)
    ITEM      200..599          answer this status (the request is then not processed)
              hang              never answer
              delay=DURATION    wait before handling (250ms, 2s, 1m)
              body=BODY         empty | html | truncated | dropped | endless | oversized:SIZE
              retry-after=V     Retry-After; V = text, date+N / date-N (an HTTP date N s
              x-ratelimit-reset=V  from the answer), unix+N / unix-N (a Unix time)
              header=NAME:V     any header
              location=URL      a redirect (302 unless a 3xx is given)
              processed         handle the request anyway (a deploy is queued) / unprocessed
              from=K, times=N   from the Kth matching call, N times (default: every call)
              after=ENDPOINT    count only calls made after one to ENDPOINT
    ',' and '%' in values are written %2C and %25.
";

const DEMO_INPUTS: [(&str, &str); 8] = [
    ("INPUT_APPLICATIONS", "api,web"),
    ("INPUT_CONTAINERS", "worker"),
    ("INPUT_JOBS", "migrate"),
    ("INPUT_HELMS", "ingress-nginx=4.11.2"),
    ("INPUT_DATABASES", "postgres"),
    (
        "INPUT_COMMIT_SHA",
        "3f8a1c2e9b7d4f6a0c5e8b1d2f4a6c8e0b2d4f6a",
    ),
    ("INPUT_POLL_INTERVAL", "1s"),
    ("INPUT_TIMEOUT", "2m"),
];

#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Serve,
    Exec(Vec<OsString>),
    Demo(Vec<OsString>),
}

#[derive(Debug, PartialEq)]
struct Cli {
    config: MockConfig,
    faults: Vec<Fault>,
    port: Option<u16>,
    show_requests: bool,
    command: Command,
}

fn usage() -> String {
    let mut text = USAGE.to_owned();
    for scenario in Scenario::ALL {
        text.push_str(&format!(
            "    {:<17} {}\n",
            scenario.name(),
            scenario.summary()
        ));
    }
    text.push_str(FAULT_SYNTAX);
    text.push_str("\nENDPOINT ALIASES:\n");
    for (alias, meaning) in Endpoint::aliases() {
        text.push_str(&format!("    {alias:<19} {meaning}\n"));
    }
    text.push_str("\nFAULT PRESETS (--fault NAME):\n");
    for preset in PRESETS {
        text.push_str(&format!("    {:<19} {}\n", preset.name, preset.summary));
    }
    text
}

/// The value of `--flag VALUE` or `--flag=VALUE`.
fn flag_value(
    flag: &str,
    inline: Option<&str>,
    rest: &mut impl Iterator<Item = OsString>,
) -> Result<String, String> {
    if let Some(value) = inline {
        return Ok(value.to_owned());
    }
    rest.next()
        .ok_or_else(|| format!("{flag} needs a value"))?
        .into_string()
        .map_err(|_| format!("the value of {flag} is not valid UTF-8"))
}

fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, String> {
    let mut args = args.into_iter();
    let mut config = MockConfig::default();
    let mut faults = Vec::new();
    let mut port = None;
    let mut show_requests = false;
    let mut subcommand: Option<&'static str> = None;
    let mut trailing = Vec::new();

    while let Some(arg) = args.next() {
        if arg == "--" {
            trailing.extend(args.by_ref());
            break;
        }
        let Some(text) = arg.to_str() else {
            return Err(format!("unexpected argument {}", arg.to_string_lossy()));
        };
        if subcommand == Some("exec") && !text.starts_with('-') {
            trailing.push(arg);
            trailing.extend(args.by_ref());
            break;
        }
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
            _ => (text, None),
        };
        match flag {
            "-h" | "--help" => {
                return Ok(Cli {
                    config,
                    faults,
                    port,
                    show_requests,
                    command: Command::Help,
                });
            }
            "--scenario" => {
                let value = flag_value(flag, inline, &mut args)?;
                config.scenario = value.parse().map_err(|err| format!("{err}"))?;
            }
            "--step-ms" => {
                let value = flag_value(flag, inline, &mut args)?;
                let millis: u64 = value
                    .parse()
                    .map_err(|_| format!("--step-ms expects milliseconds, got `{value}`"))?;
                config.step = Duration::from_millis(millis);
            }
            "--fault" => {
                let value = flag_value(flag, inline, &mut args)?;
                faults.extend(qovery_mock::parse_faults(&value).map_err(|err| err.to_string())?);
            }
            "--port" => {
                let value = flag_value(flag, inline, &mut args)?;
                port = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--port expects a port number, got `{value}`"))?,
                );
            }
            "--show-requests" if inline.is_none() => show_requests = true,
            "serve" | "exec" | "demo" if subcommand.is_none() => {
                subcommand = Some(match flag {
                    "serve" => "serve",
                    "exec" => "exec",
                    _ => "demo",
                });
            }
            other if other.starts_with('-') => return Err(format!("unknown option `{text}`")),
            _ => return Err(format!("unexpected argument `{text}`")),
        }
    }

    let command = match subcommand {
        None => return Err("missing command: serve, exec or demo".to_owned()),
        Some("serve") if !trailing.is_empty() => {
            return Err("serve takes no command after `--`".to_owned());
        }
        Some("serve") => Command::Serve,
        Some("exec") if trailing.is_empty() => {
            return Err("exec needs a command: qovery-mock exec -- CMD [ARGS...]".to_owned());
        }
        Some("exec") => Command::Exec(trailing),
        Some(_) => Command::Demo(trailing),
    };
    if port.is_some() && command != Command::Serve {
        return Err("--port only applies to serve (exec and demo use a free port)".to_owned());
    }
    Ok(Cli {
        config,
        faults,
        port,
        show_requests,
        command,
    })
}

fn main() -> ExitCode {
    let cli = match parse(env::args_os().skip(1)) {
        Ok(cli) => cli,
        Err(message) => {
            eprintln!("qovery-mock: {message}\nRun `qovery-mock --help` for usage.");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("qovery-mock: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> io::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Help => {
            print!("{}", usage());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => serve(
            &runtime,
            cli.config,
            cli.faults,
            cli.port.unwrap_or(0),
            cli.show_requests,
        ),
        Command::Exec(mut command) => {
            let program = command.remove(0);
            let wrapped = Wrapped {
                program,
                args: command,
                defaults: Vec::new(),
                current_dir: None,
            };
            run_wrapped(&runtime, cli.config, cli.faults, cli.show_requests, wrapped)
        }
        Command::Demo(extra) => {
            let mut wrapped = qovery_deploy_command();
            eprintln!("qovery-mock: demo: running {}", wrapped.describe());
            wrapped.args.extend(extra);
            wrapped.defaults = DEMO_INPUTS.to_vec();
            run_wrapped(&runtime, cli.config, cli.faults, cli.show_requests, wrapped)
        }
    }
}

fn serve(
    runtime: &Runtime,
    config: MockConfig,
    faults: Vec<Fault>,
    port: u16,
    show_requests: bool,
) -> io::Result<ExitCode> {
    let scenario = config.scenario;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let server = runtime
        .block_on(
            MockServer::builder()
                .config(config)
                .faults(faults)
                .addr(addr)
                .spawn(),
        )
        .map_err(|err| io::Error::new(err.kind(), format!("cannot listen on {addr}: {err}")))?;
    println!(
        "qovery-mock listening on {} (scenario: {scenario})",
        server.url()
    );
    print!("{}", fault_lines(&server));
    println!();
    print!("{}", fixture_table(&server.url()));
    println!();
    println!("Press Ctrl-C to stop.");
    runtime.block_on(tokio::signal::ctrl_c())?;
    if show_requests {
        eprint!("{}", request_summary(&server));
    }
    Ok(ExitCode::SUCCESS)
}

/// `  fault: SPEC` per configured fault.
fn fault_lines(server: &MockServer) -> String {
    server
        .faults()
        .iter()
        .map(|status| format!("  fault: {}\n", status.fault))
        .collect()
}

fn fixture_table(url: &str) -> String {
    let mut table = format!(
        "  organization   {}\n  project        {}\n  environment    {} (staging)\n",
        ids::ORGANIZATION,
        ids::PROJECT,
        ids::ENVIRONMENT
    );
    table.push_str("  services:\n");
    for (name, service_type, id) in qovery_mock::fixture_services() {
        table.push_str(&format!("    {name:<15}{service_type:<13}{id}\n"));
    }
    table.push_str(&format!(
        "\n  api-url: {url}\n  api-token: any token of 8 or more characters (Authorization: Token ... or Bearer ...)\n"
    ));
    table
}

fn request_summary(server: &MockServer) -> String {
    let requests = server.requests();
    let mut summary = format!("qovery-mock: {} request(s) received:\n", requests.len());
    for request in requests {
        let query = request.query.map(|q| format!("?{q}")).unwrap_or_default();
        let status = request
            .status
            .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
        let fault = request
            .fault
            .map(|f| format!(" [fault {f}]"))
            .unwrap_or_default();
        summary.push_str(&format!(
            "{:>7.3}s {} {}{query} -> {status}{fault}\n",
            request.elapsed.as_secs_f64(),
            request.method,
            request.path
        ));
    }
    summary
}

/// The command `exec` or `demo` runs.
struct Wrapped {
    program: OsString,
    args: Vec<OsString>,
    /// Environment variables set only when absent from our environment.
    defaults: Vec<(&'static str, &'static str)>,
    current_dir: Option<OsString>,
}

impl Wrapped {
    fn describe(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `$CARGO run -q -p qovery-deploy --` under cargo, else `qovery-deploy` next to this
/// binary, else from PATH.
fn qovery_deploy_command() -> Wrapped {
    if let Some(cargo) = env::var_os("CARGO") {
        return Wrapped {
            program: cargo,
            args: ["run", "-q", "-p", "qovery-deploy", "--"]
                .map(OsString::from)
                .to_vec(),
            defaults: Vec::new(),
            current_dir: env::var_os("CARGO_MANIFEST_DIR"),
        };
    }
    let binary = format!("qovery-deploy{}", env::consts::EXE_SUFFIX);
    let program = env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(&binary))
        .filter(|sibling| sibling.is_file())
        .map_or_else(|| OsString::from(&binary), OsString::from);
    Wrapped {
        program,
        args: Vec::new(),
        defaults: Vec::new(),
        current_dir: None,
    }
}

fn run_wrapped(
    runtime: &Runtime,
    config: MockConfig,
    faults: Vec<Fault>,
    show_requests: bool,
    wrapped: Wrapped,
) -> io::Result<ExitCode> {
    let scenario = config.scenario;
    let server = runtime.block_on(MockServer::builder().config(config).faults(faults).spawn())?;
    eprintln!(
        "qovery-mock listening on {} (scenario: {scenario})",
        server.url()
    );
    eprint!("{}", fault_lines(&server));

    let mut command = tokio::process::Command::new(&wrapped.program);
    command.args(&wrapped.args);
    // The URL always points at the mock: drop other spellings (INPUT_API_URL, ...) that
    // qovery-deploy would also read.
    for key in spellings_in_env("INPUT_API-URL") {
        command.env_remove(key);
    }
    // Underscore spellings: a POSIX shell drops variables whose names are not identifiers
    // (`INPUT_API-URL`), so a wrapped CI script (`exec -- sh ci.sh`) would never pass them on.
    command.env("INPUT_API_URL", server.url());
    let defaults = [
        ("INPUT_API_TOKEN", DEMO_TOKEN),
        ("INPUT_ENVIRONMENT_ID", ids::ENVIRONMENT),
    ];
    for (key, value) in defaults.into_iter().chain(wrapped.defaults) {
        if spellings_in_env(key).is_empty() {
            command.env(key, value);
        }
    }
    if let Some(dir) = &wrapped.current_dir {
        command.current_dir(dir);
    }

    let status = runtime.block_on(wait_for(command));
    if show_requests {
        eprint!("{}", request_summary(&server));
    }
    match status {
        Ok(status) => Ok(exit_code(status)),
        Err(err) => {
            eprintln!(
                "qovery-mock: cannot run `{}`: {err}",
                wrapped.program.to_string_lossy()
            );
            Ok(ExitCode::from(127))
        }
    }
}

/// Whether two variable names spell the same input: case-insensitive, `-` and `_` alike
/// (qovery-deploy accepts `INPUT_API-TOKEN`, `INPUT_API_TOKEN`, `input_api_token`, ...).
fn same_input(key: &str, name: &str) -> bool {
    let normalize = |text: &str| text.to_ascii_uppercase().replace('-', "_");
    normalize(key) == normalize(name)
}

/// The variables of our environment that spell the input `name`.
fn spellings_in_env(name: &str) -> Vec<OsString> {
    env::vars_os()
        .map(|(key, _)| key)
        .filter(|key| key.to_str().is_some_and(|key| same_input(key, name)))
        .collect()
}

/// Waits for the child; Ctrl-C reaches it directly (same process group), so we only keep
/// serving it until it exits.
async fn wait_for(mut command: tokio::process::Command) -> io::Result<ExitStatus> {
    let mut child = command.spawn()?;
    loop {
        tokio::select! {
            status = child.wait() => return status,
            signal = tokio::signal::ctrl_c() => {
                if signal.is_err() {
                    return child.wait().await;
                }
            }
        }
    }
}

fn exit_code(status: ExitStatus) -> ExitCode {
    if let Some(code) = status.code() {
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return ExitCode::from(u8::try_from(128 + signal).unwrap_or(1));
        }
    }
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn parse_ok(list: &[&str]) -> Cli {
        parse(args(list)).unwrap_or_else(|err| panic!("{list:?}: {err}"))
    }

    #[test]
    fn parses_serve_with_options() {
        let cli = parse_ok(&[
            "--scenario",
            "stale",
            "--step-ms=200",
            "serve",
            "--port",
            "8080",
        ]);
        assert_eq!(cli.config.scenario, Scenario::Stale);
        assert_eq!(cli.config.step, Duration::from_millis(200));
        assert_eq!(cli.port, Some(8080));
        assert_eq!(cli.command, Command::Serve);
    }

    #[test]
    fn parses_exec_and_demo() {
        let cli = parse_ok(&["exec", "--show-requests", "--", "env", "--null"]);
        assert!(cli.show_requests);
        assert_eq!(cli.command, Command::Exec(args(&["env", "--null"])));
        assert_eq!(cli.config, MockConfig::default());
        let cli = parse_ok(&["exec", "sh", "-c", "exit 3"]);
        assert_eq!(cli.command, Command::Exec(args(&["sh", "-c", "exit 3"])));
        let cli = parse_ok(&["--scenario=fail", "demo", "--", "--verbose"]);
        assert_eq!(cli.command, Command::Demo(args(&["--verbose"])));
        assert_eq!(parse_ok(&["demo"]).command, Command::Demo(Vec::new()));
        assert_eq!(parse_ok(&["--help"]).command, Command::Help);
    }

    #[test]
    fn parses_faults_and_presets() {
        let cli = parse_ok(&[
            "--fault",
            "statuses:429,retry-after=120",
            "--fault=slow-cancel",
            "serve",
        ]);
        let specs: Vec<String> = cli.faults.iter().map(ToString::to_string).collect();
        assert_eq!(specs, ["statuses:429,retry-after=120", "cancels:delay=30s"]);
        assert!(parse_ok(&["demo"]).faults.is_empty());
    }

    #[test]
    fn rejects_bad_arguments() {
        let error = |list: &[&str]| parse(args(list)).expect_err("should fail");
        assert!(error(&["--scenario", "sad", "serve"]).contains("valid: happy, stale"));
        assert!(error(&["serve", "--step-ms", "soon"]).contains("milliseconds"));
        assert!(error(&["serve", "--port", "99999"]).contains("port"));
        assert!(error(&["--scenario"]).contains("needs a value"));
        assert!(error(&["exec"]).contains("needs a command"));
        assert!(error(&["exec", "--"]).contains("needs a command"));
        assert!(error(&["demo", "--port", "1"]).contains("only applies to serve"));
        assert!(error(&[]).contains("missing command"));
        assert!(error(&["serve", "serve"]).contains("unexpected argument"));
        assert!(error(&["--verbose", "serve"]).contains("unknown option"));
        assert!(error(&["--fault", "statuses:999", "serve"]).contains("200..=599"));
        assert!(error(&["--fault", "nope", "serve"]).contains("neither a preset (rate-limited"));
    }

    #[test]
    fn input_spellings() {
        assert!(same_input("INPUT_API-URL", "INPUT_API-URL"));
        assert!(same_input("INPUT_API_URL", "INPUT_API-URL"));
        assert!(same_input("input_api_url", "INPUT_API-URL"));
        assert!(!same_input("INPUT_API-TOKEN", "INPUT_API-URL"));
    }

    #[test]
    fn usage_lists_every_scenario() {
        let text = usage();
        for scenario in Scenario::ALL {
            assert!(text.contains(scenario.name()), "{scenario}");
        }
        for preset in PRESETS {
            assert!(text.contains(preset.name), "{}", preset.name);
        }
        assert!(text.contains("deployment-status") && text.contains("after=ENDPOINT"));
    }
}
