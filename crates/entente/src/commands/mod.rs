//! One module per subcommand. Each exposes `Args` (clap) or a `Command`
//! enum, and `run`.

pub mod audit;
pub mod collection;
pub mod community;
pub mod demo;
pub mod export;
pub mod import;
pub mod incident;
pub mod indicators;
pub mod init;
pub mod node;
pub mod org;
pub mod pattern;
pub mod peer;
pub mod scan;
pub mod serve;
pub mod token;
pub mod validate;
pub mod verify;
