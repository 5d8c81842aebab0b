//! Peer credentials on disk: one file per peer in the data directory's
//! `peers/`, mode 0600, never logged. The database names peers; only these
//! files hold what lets this node into theirs.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a credential could not be kept or read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("{path}: {why}")]
    File { path: PathBuf, why: String },
}

fn file(dir: &Path, peer: &str) -> PathBuf {
    dir.join("peers").join(format!("{peer}.token"))
}

fn err(path: &Path, why: impl std::fmt::Display) -> CredentialError {
    CredentialError::File {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// Reads a token file the operator gave (`--token-file`): one line, the token.
pub fn read_token_file(path: &Path) -> Result<String, CredentialError> {
    // A regular file only: a device or a pipe reports no size, and could
    // be read without end (or block for ever).
    let meta = std::fs::metadata(path).map_err(|e| err(path, e))?;
    if !meta.is_file() {
        return Err(err(path, "is not a regular file"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 4097), &mut bytes))
        .map_err(|e| err(path, e))?;
    if bytes.len() > 4096 {
        return Err(err(path, "is not a token file (over 4 KiB)"));
    }
    let text = String::from_utf8(bytes).map_err(|_| err(path, "is not UTF-8 text"))?;
    let token = text.trim();
    if token.is_empty() || token.contains(char::is_whitespace) || token.contains(char::is_control) {
        return Err(err(
            path,
            "must hold the peer's API token alone, on one line",
        ));
    }
    Ok(token.to_string())
}

/// Keeps `token` for `peer` under `dir` (created 0700), in a 0600 file
/// written whole before it replaces any earlier one.
pub fn save(dir: &Path, peer: &str, token: &str) -> Result<(), CredentialError> {
    let peers = dir.join("peers");
    std::fs::create_dir_all(&peers).map_err(|e| err(&peers, e))?;
    restrict(&peers, 0o700)?;
    let path = file(dir, peer);
    let tmp = path.with_extension("token.tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp).map_err(|e| err(&tmp, e))?;
        restrict(&tmp, 0o600)?;
        f.write_all(token.as_bytes()).map_err(|e| err(&tmp, e))?;
        f.write_all(b"\n").map_err(|e| err(&tmp, e))?;
        f.sync_all().map_err(|e| err(&tmp, e))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| err(&path, e))
}

/// Whether a token is kept for `peer` (peers that only read this node have none).
pub fn exists(dir: &Path, peer: &str) -> bool {
    file(dir, peer).exists()
}

/// The token kept for `peer`; refuses a file others may read.
pub fn load(dir: &Path, peer: &str) -> Result<String, CredentialError> {
    let path = file(dir, peer);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .map_err(|e| err(&path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(err(
                &path,
                format!(
                    "is readable by others (mode {:o}); run chmod 600 on it",
                    mode & 0o777
                ),
            ));
        }
    }
    read_token_file(&path)
}

fn restrict(path: &Path, mode: u32) -> Result<(), CredentialError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| err(path, e))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_kept_0600_and_others_refused() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), "ee", "ent_abc").unwrap();
        assert_eq!(load(dir.path(), "ee").unwrap(), "ent_abc");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.path().join("peers/ee.token");
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(
                load(dir.path(), "ee")
                    .unwrap_err()
                    .to_string()
                    .contains("chmod 600")
            );
        }
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "two words\n").unwrap();
        assert!(read_token_file(&bad).is_err());
    }
}
