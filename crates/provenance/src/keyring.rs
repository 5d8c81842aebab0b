//! A signing identity on disk. **The only module of this crate that does I/O.**
//!
//! A key ring is a directory (a node's data directory has one, and so can an
//! organisation's) holding:
//!
//! | file         | mode | content |
//! |--------------|------|---------|
//! | `ring.json`  | 0644 | format, the current key's fingerprint, and for every key ever used its fingerprint, public key (base64), creation time and retirement time |
//! | `<hex>.key`  | 0600 | the current key's private half: the draft's 64-byte `mldsaSeed \|\| edSeed`, base64 in a small JSON document; `<hex>` is the fingerprint's hex |
//!
//! Rules, and why:
//! - A private key file is created with `O_CREAT|O_EXCL` and mode 0600 at
//!   creation (never widened, never chmod-ed afterwards), so there is no
//!   window in which another user can read it, and no path ever overwrites
//!   one: a second [`KeyRing::create`] fails, and rotation writes a new file.
//! - `ring.json` is written to a temporary file, flushed, then linked into
//!   place: with `link` at creation (which fails if a ring appeared
//!   meanwhile) and `rename` at rotation (atomic replacement). A crash leaves
//!   either the old ring or the new one, never half of one.
//! - [`KeyRing::open`] refuses a private key file that group or others may
//!   read or write, and a directory that group or others may write (they
//!   could swap the key), naming the file, its mode and the `chmod` that
//!   fixes it. The mode is read from the opened file, not the path.
//! - [`KeyRing::rotate`] makes a new current key, marks the old one retired
//!   (its public key stays in `ring.json` so that what it signed still
//!   verifies) and deletes the retired private key: a key that no longer
//!   signs has no reason to exist where it could be stolen. Rotations are
//!   operator actions: run one at a time (two at once would keep only one
//!   new key; nothing is corrupted).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::composite::{
    self, ALGORITHM, Fingerprint, KeyError, PRIVATE_KEY_LEN, PrivateKeyBytes, PublicKey, SigningKey,
};

const RING_FILE: &str = "ring.json";
const RING_FORMAT: &str = "entente-keyring";
const PRIVATE_FORMAT: &str = "entente-private-key";
const FORMAT_VERSION: u32 = 1;

/// A key ring that cannot be created, opened or rotated.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("no key ring in {}: {RING_FILE} does not exist; create the key ring first", dir.display())]
    Missing { dir: PathBuf },
    #[error(
        "a key ring already exists in {}; keys are never overwritten (rotate to get a new key)",
        dir.display()
    )]
    AlreadyExists { dir: PathBuf },
    #[error(
        "{} has mode {mode:04o}: a private key must not be readable or writable by group or \
         others; run `chmod 600 {}`",
        path.display(), path.display()
    )]
    PrivateKeyPermissions { path: PathBuf, mode: u32 },
    #[error(
        "{} has mode {mode:04o}: group or others could replace the keys in it; run `chmod go-w {}`",
        path.display(), path.display()
    )]
    DirectoryPermissions { path: PathBuf, mode: u32 },
    #[error("{} is not a key ring file Entente can read: {reason}", path.display())]
    Malformed { path: PathBuf, reason: String },
    #[error(
        "{} holds the private key of {found}, but {RING_FILE} names {expected} as the current key",
        path.display()
    )]
    KeyMismatch {
        path: PathBuf,
        expected: Fingerprint,
        found: Fingerprint,
    },
    #[error("{}: {source}", path.display())]
    Key { path: PathBuf, source: KeyError },
    #[error(
        "the key ring was rotated (the current key is {current}), but the retired private key {} \
         could not be removed: {source}; remove it by hand",
        path.display()
    )]
    RetiredKeyNotRemoved {
        path: PathBuf,
        current: Fingerprint,
        source: io::Error,
    },
}

/// The public facts of one key of a ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub fingerprint: Fingerprint,
    pub public_key: PublicKey,
    pub created: jiff::Timestamp,
    /// When rotation replaced it; `None` for the current key.
    pub retired: Option<jiff::Timestamp>,
}

/// A signing identity: the current private key and every public key the
/// identity has used.
pub struct KeyRing {
    dir: PathBuf,
    current: SigningKey,
    keys: Vec<KeyInfo>,
    /// Where `current`'s public facts are in `keys`.
    current_index: usize,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("dir", &self.dir)
            .field("current", &self.current.fingerprint())
            .field("keys", &self.keys.len())
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct RingFile {
    format: String,
    version: u32,
    algorithm: String,
    current: String,
    keys: Vec<RingKey>,
}

#[derive(Serialize, Deserialize)]
struct RingKey {
    fingerprint: String,
    public_key: String,
    created: String,
    retired: Option<String>,
}

#[derive(Deserialize)]
struct PrivateFile {
    format: String,
    version: u32,
    algorithm: String,
    fingerprint: String,
    private_key: String,
}

impl KeyRing {
    /// Makes a new identity in `dir` (created with mode 0700 if missing).
    /// Fails if `dir` already holds a key ring.
    pub fn create(dir: &Path) -> Result<KeyRing, KeyringError> {
        prepare_dir(dir)?;
        let ring_path = dir.join(RING_FILE);
        if ring_path.exists() {
            return Err(KeyringError::AlreadyExists {
                dir: dir.to_path_buf(),
            });
        }
        let (current, key_path) = new_private_key(dir)?;
        let keys = vec![KeyInfo {
            fingerprint: current.fingerprint(),
            public_key: current.public_key().clone(),
            created: jiff::Timestamp::now(),
            retired: None,
        }];
        let written = write_ring(dir, current.fingerprint(), &keys, Install::NoClobber);
        if let Err(e) = written {
            // Nothing refers to the new private key: do not leave it behind.
            let _ = fs::remove_file(&key_path);
            return Err(e);
        }
        Ok(KeyRing {
            dir: dir.to_path_buf(),
            current,
            keys,
            current_index: 0,
        })
    }

    /// Loads the identity in `dir`, checking the private key's permissions
    /// and that it is the key `ring.json` names as current.
    pub fn open(dir: &Path) -> Result<KeyRing, KeyringError> {
        check_dir(dir)?;
        let (current_index, keys) = read_ring(dir)?;
        let current_fp = keys[current_index].fingerprint;
        let key_path = private_key_path(dir, &current_fp);
        let current = read_private_key(&key_path)?;
        if current.fingerprint() != current_fp {
            return Err(KeyringError::KeyMismatch {
                path: key_path,
                expected: current_fp,
                found: current.fingerprint(),
            });
        }
        Ok(KeyRing {
            dir: dir.to_path_buf(),
            current,
            keys,
            current_index,
        })
    }

    /// The public keys of the identity in `dir`, without touching its
    /// private key (for listing by someone who may not read it).
    pub fn list(dir: &Path) -> Result<Vec<KeyInfo>, KeyringError> {
        Ok(read_ring(dir)?.1)
    }

    /// Replaces the current key with a new one; the old one is retired now,
    /// its public key kept, its private key deleted. Returns the new key.
    pub fn rotate(&mut self) -> Result<&KeyInfo, KeyringError> {
        check_dir(&self.dir)?;
        let (new_key, new_path) = new_private_key(&self.dir)?;
        let now = jiff::Timestamp::now();
        let old_fp = self.current.fingerprint();
        let mut keys = self.keys.clone();
        for k in keys.iter_mut().filter(|k| k.fingerprint == old_fp) {
            k.retired = Some(now);
        }
        keys.push(KeyInfo {
            fingerprint: new_key.fingerprint(),
            public_key: new_key.public_key().clone(),
            created: now,
            retired: None,
        });
        if let Err(e) = write_ring(&self.dir, new_key.fingerprint(), &keys, Install::Replace) {
            let _ = fs::remove_file(&new_path);
            return Err(e);
        }
        self.current = new_key;
        self.current_index = keys.len() - 1;
        self.keys = keys;
        let old_path = private_key_path(&self.dir, &old_fp);
        if let Err(source) = fs::remove_file(&old_path)
            && source.kind() != io::ErrorKind::NotFound
        {
            return Err(KeyringError::RetiredKeyNotRemoved {
                path: old_path,
                current: self.current.fingerprint(),
                source,
            });
        }
        Ok(self.current_info())
    }

    /// The key that signs.
    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// The current key, for a signer that keeps it for the process's life.
    pub fn into_current(self) -> SigningKey {
        self.current
    }

    pub fn current_info(&self) -> &KeyInfo {
        &self.keys[self.current_index]
    }

    /// Every key of the identity, oldest first, the current one last.
    pub fn keys(&self) -> &[KeyInfo] {
        &self.keys
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> KeyringError + 'a {
    move |source| KeyringError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn malformed(path: &Path, reason: impl Into<String>) -> KeyringError {
    KeyringError::Malformed {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn private_key_path(dir: &Path, fp: &Fingerprint) -> PathBuf {
    dir.join(format!("{}.key", hex::encode(fp.as_bytes())))
}

fn prepare_dir(dir: &Path) -> Result<(), KeyringError> {
    match fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => check_dir(dir),
        Err(e) => Err(io_err("create the key ring directory", dir)(e)),
    }
}

fn check_dir(dir: &Path) -> Result<(), KeyringError> {
    let meta = fs::metadata(dir).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            KeyringError::Missing {
                dir: dir.to_path_buf(),
            }
        } else {
            io_err("read the key ring directory", dir)(e)
        }
    })?;
    if !meta.is_dir() {
        return Err(malformed(dir, "not a directory"));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(KeyringError::DirectoryPermissions {
            path: dir.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Generates a key and writes its private half to a new 0600 file.
fn new_private_key(dir: &Path) -> Result<(SigningKey, PathBuf), KeyringError> {
    let private = PrivateKeyBytes::generate().map_err(|source| KeyringError::Key {
        path: dir.to_path_buf(),
        source,
    })?;
    let key = SigningKey::from_private(&private).map_err(|source| KeyringError::Key {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = private_key_path(dir, &key.fingerprint());
    let mut encoded = STANDARD.encode(private.as_bytes()).into_bytes();
    let mut document = Vec::with_capacity(256 + encoded.len());
    document.extend_from_slice(
        format!(
            "{{\"format\":\"{PRIVATE_FORMAT}\",\"version\":{FORMAT_VERSION},\
             \"algorithm\":\"{}\",\"fingerprint\":\"{}\",\"private_key\":\"",
            ALGORITHM,
            key.fingerprint()
        )
        .as_bytes(),
    );
    document.extend_from_slice(&encoded);
    document.extend_from_slice(b"\"}\n");
    composite::wipe(&mut encoded);
    let written = write_new_file(&path, &document, 0o600);
    composite::wipe(&mut document);
    written?;
    Ok((key, path))
}

/// Creates `path` (failing if it exists) with `mode` and the given content,
/// flushed to disk before returning.
fn write_new_file(path: &Path, content: &[u8], mode: u32) -> Result<(), KeyringError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io_err("create", path))?;
    file.write_all(content).map_err(io_err("write", path))?;
    file.sync_all().map_err(io_err("flush", path))
}

enum Install {
    /// Link into place; fail if a ring is already there.
    NoClobber,
    /// Rename into place, replacing the ring atomically.
    Replace,
}

fn write_ring(
    dir: &Path,
    current: Fingerprint,
    keys: &[KeyInfo],
    install: Install,
) -> Result<(), KeyringError> {
    let ring = RingFile {
        format: RING_FORMAT.into(),
        version: FORMAT_VERSION,
        algorithm: ALGORITHM.into(),
        current: current.to_string(),
        keys: keys
            .iter()
            .map(|k| RingKey {
                fingerprint: k.fingerprint.to_string(),
                public_key: STANDARD.encode(k.public_key.as_bytes()),
                created: k.created.to_string(),
                retired: k.retired.map(|t| t.to_string()),
            })
            .collect(),
    };
    let ring_path = dir.join(RING_FILE);
    let mut text =
        serde_json::to_vec_pretty(&ring).map_err(|e| malformed(&ring_path, e.to_string()))?;
    text.push(b'\n');
    let mut nonce = [0u8; 8];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| KeyringError::Key {
        path: dir.to_path_buf(),
        source: KeyError::Random,
    })?;
    let tmp = dir.join(format!(".{RING_FILE}.{}.tmp", hex::encode(nonce)));
    write_new_file(&tmp, &text, 0o644)?;
    let installed = match install {
        Install::NoClobber => fs::hard_link(&tmp, &ring_path).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                KeyringError::AlreadyExists {
                    dir: dir.to_path_buf(),
                }
            } else {
                io_err("install", &ring_path)(e)
            }
        }),
        Install::Replace => fs::rename(&tmp, &ring_path).map_err(io_err("replace", &ring_path)),
    };
    // After a link the temporary name is still there; after a rename it is
    // gone (NotFound is fine).
    let _ = fs::remove_file(&tmp);
    installed?;
    // Make the new directory entry itself durable.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("flush the key ring directory", dir))
}

/// The keys of the ring in `dir`, and the index of the current one.
fn read_ring(dir: &Path) -> Result<(usize, Vec<KeyInfo>), KeyringError> {
    let path = dir.join(RING_FILE);
    let text = fs::read(&path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            KeyringError::Missing {
                dir: dir.to_path_buf(),
            }
        } else {
            io_err("read", &path)(e)
        }
    })?;
    let ring: RingFile =
        serde_json::from_slice(&text).map_err(|e| malformed(&path, e.to_string()))?;
    if ring.format != RING_FORMAT || ring.version != FORMAT_VERSION {
        return Err(malformed(
            &path,
            format!(
                "format {:?} version {}, expected {RING_FORMAT:?} version {FORMAT_VERSION}",
                ring.format, ring.version
            ),
        ));
    }
    if ring.algorithm != ALGORITHM {
        return Err(malformed(
            &path,
            format!("algorithm {:?} is not supported", ring.algorithm),
        ));
    }
    let current: Fingerprint = ring
        .current
        .parse()
        .map_err(|e: composite::FingerprintError| malformed(&path, format!("current: {e}")))?;
    let mut keys = Vec::with_capacity(ring.keys.len());
    for (i, k) in ring.keys.iter().enumerate() {
        let at = |what: &str| format!("keys[{i}].{what}");
        let bytes = STANDARD
            .decode(&k.public_key)
            .map_err(|e| malformed(&path, format!("{}: {e}", at("public_key"))))?;
        let public_key = PublicKey::from_bytes(&bytes)
            .map_err(|e| malformed(&path, format!("{}: {e}", at("public_key"))))?;
        let fingerprint: Fingerprint =
            k.fingerprint
                .parse()
                .map_err(|e: composite::FingerprintError| {
                    malformed(&path, format!("{}: {e}", at("fingerprint")))
                })?;
        if public_key.fingerprint() != fingerprint {
            return Err(malformed(
                &path,
                format!(
                    "{} is {fingerprint}, but the public key's fingerprint is {}",
                    at("fingerprint"),
                    public_key.fingerprint()
                ),
            ));
        }
        let created = k
            .created
            .parse()
            .map_err(|e| malformed(&path, format!("{}: {e}", at("created"))))?;
        let retired = match &k.retired {
            None => None,
            Some(t) => Some(
                t.parse()
                    .map_err(|e| malformed(&path, format!("{}: {e}", at("retired"))))?,
            ),
        };
        keys.push(KeyInfo {
            fingerprint,
            public_key,
            created,
            retired,
        });
    }
    match keys.iter().position(|k| k.fingerprint == current) {
        None => Err(malformed(
            &path,
            format!("the current key {current} is not among its keys"),
        )),
        Some(i) if keys[i].retired.is_some() => Err(malformed(
            &path,
            format!("the current key {current} is marked retired"),
        )),
        Some(i) => Ok((i, keys)),
    }
}

fn read_private_key(path: &Path) -> Result<SigningKey, KeyringError> {
    let mut file = File::open(path).map_err(io_err("open the private key", path))?;
    // The mode of the file actually opened, not of whatever the path names now.
    let meta = file.metadata().map_err(io_err("inspect", path))?;
    if !meta.is_file() {
        return Err(malformed(path, "not a regular file"));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyringError::PrivateKeyPermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    let mut text = Vec::with_capacity(256);
    let read = file.read_to_end(&mut text).map_err(io_err("read", path));
    let parsed = read.and_then(|_| {
        serde_json::from_slice::<PrivateFile>(&text).map_err(|e| malformed(path, e.to_string()))
    });
    composite::wipe(&mut text);
    let document = parsed?;
    let mut encoded = document.private_key.into_bytes();
    if document.format != PRIVATE_FORMAT || document.version != FORMAT_VERSION {
        composite::wipe(&mut encoded);
        return Err(malformed(
            path,
            format!(
                "format {:?} version {}, expected {PRIVATE_FORMAT:?} version {FORMAT_VERSION}",
                document.format, document.version
            ),
        ));
    }
    if document.algorithm != ALGORITHM {
        composite::wipe(&mut encoded);
        return Err(malformed(
            path,
            format!("algorithm {:?} is not supported", document.algorithm),
        ));
    }
    let decoded = STANDARD.decode(&encoded);
    composite::wipe(&mut encoded);
    let mut bytes = decoded.map_err(|e| malformed(path, format!("private_key: {e}")))?;
    if bytes.len() != PRIVATE_KEY_LEN {
        let len = bytes.len();
        composite::wipe(&mut bytes);
        return Err(KeyringError::Key {
            path: path.to_path_buf(),
            source: KeyError::PrivateKeyLength(len),
        });
    }
    let private = PrivateKeyBytes::from_slice(&bytes);
    composite::wipe(&mut bytes);
    let private = private.map_err(|source| KeyringError::Key {
        path: path.to_path_buf(),
        source,
    })?;
    let key = SigningKey::from_private(&private).map_err(|source| KeyringError::Key {
        path: path.to_path_buf(),
        source,
    })?;
    let claimed: Result<Fingerprint, _> = document.fingerprint.parse();
    if claimed.as_ref().ok() != Some(&key.fingerprint()) {
        return Err(malformed(
            path,
            format!(
                "it says it holds {}, but its key is {}",
                document.fingerprint,
                key.fingerprint()
            ),
        ));
    }
    Ok(key)
}
