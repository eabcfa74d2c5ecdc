//! `spot`: the SPOT command-line tool.
//!
//! Exit codes: 0 success, 1 the run failed or an invariant broke, 2 usage error.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use spot_cli::client;
use spot_cli::sim::{SimArgs, SimOutcome};
use spot_cli::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};

/// SPOT: clustered topic pub/sub.
#[derive(Parser, Debug)]
#[command(name = "spot", version, about = "SPOT: clustered topic pub/sub (command-line tool)", long_about = None)]
#[command(after_help = "Exit codes: 0 success, 1 run failed or invariant broken, 2 usage error, \
                         3 a client command cannot connect to the node.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Three nodes on loopback in one process: join, show members and topics, publish across
    /// nodes, then kill one and watch the others detect it and clean up (about 5 to 10 s).
    #[command(after_help = "Exit codes: 0 success, 1 the demo failed (the message says what).")]
    Demo,
    /// Simulate a SWIM cluster on a virtual clock and report detection, traffic and CPU.
    #[command(after_help = "Exit codes: 0 success, 1 run failed (a false death at or below the \
                      preset's rated loss; the message names the seed), 2 usage error.")]
    Sim(SimArgs),
    /// Pub/sub throughput and latency between two processes over loopback; with `--peers`,
    /// against nats-server and redis-server in the same run.
    #[command(after_help = "Exit codes: 0 success, 1 the bench failed (a run delivered nothing, \
                      a peer server did not start), 2 usage error.")]
    Bench(spot_cli::bench::BenchArgs),
    /// A long-running cluster node that logs membership and topic events; Ctrl-C (SIGINT) or
    /// SIGTERM leaves the cluster gracefully.
    #[command(after_help = "Exit codes: 0 stopped by SIGINT/SIGTERM after leaving, 1 the node \
                      failed (cannot bind, cannot create a topic), 2 usage error.")]
    Node(spot_cli::node::NodeArgs),
    /// Publish to a topic through a node: MESSAGE, or stdin one message a line with `-`.
    #[command(after_help = CLIENT_EXIT_CODES)]
    Pub(spot_cli::client::PubArgs),
    /// Subscribe through a node to topics or patterns (`*`, `?`); prints `topic<TAB>payload`.
    #[command(after_help = CLIENT_EXIT_CODES)]
    Sub(spot_cli::client::SubArgs),
    /// The node's topic directory: each topic, LOCAL or REMOTE, and its owner.
    #[command(after_help = CLIENT_EXIT_CODES)]
    Topics(spot_cli::client::QueryArgs),
    /// The node's membership table: id, endpoint, state, incarnation, tags.
    #[command(after_help = CLIENT_EXIT_CODES)]
    Members(spot_cli::client::QueryArgs),
    /// The subscriber process of `spot bench` (spawned by it; commands on stdin).
    #[command(hide = true)]
    BenchPeer,
}

/// Exit codes of the client commands (`pub`, `sub`, `topics`, `members`).
const CLIENT_EXIT_CODES: &str = "Exit codes: 0 success, 1 failed (no such topic, no answer, \
                                 the node closed), 2 usage error, 3 cannot connect to the node.";

/// `spot demo` on a two-worker tokio runtime.
fn run_demo() -> ExitCode {
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = writeln!(std::io::stderr(), "error: cannot start a runtime: {error}");
                return ExitCode::from(EXIT_FAILED);
            }
        };
    let result = runtime.block_on(spot_cli::demo::run(|text| {
        let mut stdout = std::io::stdout();
        let _ = write!(stdout, "{text}");
        let _ = stdout.flush();
    }));
    match result {
        Ok(_) => ExitCode::from(EXIT_OK),
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "spot demo failed: {message}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            // Printing help or a usage error is what this branch is for.
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Demo => run_demo(),
        Command::Node(args) => ExitCode::from(spot_cli::node::run(&args)),
        Command::Pub(args) => ExitCode::from(client::exit_code(client::publish(&args))),
        Command::Sub(args) => ExitCode::from(client::exit_code(client::subscribe(&args))),
        Command::Topics(args) => ExitCode::from(client::exit_code(client::topics(&args))),
        Command::Members(args) => ExitCode::from(client::exit_code(client::members(&args))),
        Command::Bench(args) => ExitCode::from(spot_cli::bench::run_command(&args)),
        Command::BenchPeer => ExitCode::from(spot_cli::bench::peer::run_peer()),
        Command::Sim(args) => {
            if let Err(message) = args.validate() {
                let mut stderr = std::io::stderr();
                let _ = writeln!(stderr, "error: {message}\n\nFor more information, try '--help'.");
                return ExitCode::from(EXIT_USAGE);
            }
            let outcome: SimOutcome = spot_cli::sim::run(&args);
            let mut stdout = std::io::stdout();
            let text = if args.json { outcome.to_json().to_string() } else { outcome.summary() };
            let _ = writeln!(stdout, "{text}");
            match outcome.failure() {
                Some(failure) => {
                    let _ = writeln!(std::io::stderr(), "{failure}");
                    ExitCode::from(EXIT_FAILED)
                }
                None => ExitCode::from(EXIT_OK),
            }
        }
    }
}
