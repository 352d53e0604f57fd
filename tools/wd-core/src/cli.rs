//! Argument conventions every tool flattens into its clap parser.

use crate::output::Format;
use clap::Args;

/// `--format`, `-v`, `-q`: the same spelling and meaning in every tool.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Output format; default: json when stdout is not a terminal, table when it is.
    #[arg(long, value_enum, global = true)]
    pub format: Option<Format>,
    /// More log lines on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

impl CommonArgs {
    /// Applies the log level and returns the effective output format.
    pub fn init(&self) -> Format {
        crate::term::set_verbosity(self.verbose, self.quiet);
        self.format.unwrap_or_else(Format::default_for_stdout)
    }
}

/// Parses argv with clap. Help and version print and exit 0; a usage error is ONE line
/// `<tool>: <what is wrong>; see <tool> --help` and exit 2 (clap's own report is several lines).
pub fn parse<P: clap::Parser>() -> P {
    match P::try_parse() {
        Ok(p) => p,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let tool = P::command().get_name().to_string();
            let rendered = e.to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let msg = first.strip_prefix("error: ").unwrap_or(first);
            crate::term::eprint_error(&format!("{tool}: {msg}; see {tool} --help"));
            std::process::exit(crate::Exit::Usage as i32)
        }
    }
}
