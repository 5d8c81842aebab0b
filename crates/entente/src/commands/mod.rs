//! One module per subcommand. Each exposes `Args` (clap) or a `Command`
//! enum, and `run`.

pub mod collection;
pub mod demo;
pub mod export;
pub mod import;
pub mod init;
pub mod serve;
pub mod token;
pub mod validate;
