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

/// Parses argv with clap; usage errors exit 2 (clap's own code), help/version exit 0.
pub fn parse<P: clap::Parser>() -> P {
    P::parse()
}
