//! The key ring on a real file system: creation, modes, refusal to
//! overwrite, permission checks, rotation, tampering.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use provenance::{KeyRing, KeyringError};

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("exists").permissions().mode() & 0o7777
}

fn private_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "key"))
        .collect();
    files.sort();
    files
}

fn key_path(ring: &KeyRing) -> PathBuf {
    ring.dir().join(format!(
        "{}.key",
        hex_of(&ring.current().fingerprint().to_string())
    ))
}

fn hex_of(fingerprint: &str) -> &str {
    fingerprint.trim_start_matches("mldsa65-ed25519:")
}

#[test]
fn create_writes_a_0600_private_key_and_open_reads_it_back() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("keys");
    let ring = KeyRing::create(&dir).expect("created");
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(private_files(&dir), vec![key_path(&ring)]);
    assert_eq!(mode(&key_path(&ring)), 0o600);
    assert_eq!(ring.keys().len(), 1);
    assert_eq!(ring.current_info().retired, None);
    // Nothing but the ring and the key: no temporary file left behind.
    assert_eq!(fs::read_dir(&dir).expect("readable").count(), 2);

    let again = KeyRing::open(&dir).expect("opens");
    assert_eq!(again.current().fingerprint(), ring.current().fingerprint());
    assert_eq!(again.keys(), ring.keys());
    let sig = again.current().sign(b"hello", b"ctx").expect("signs");
    assert_eq!(
        ring.current().public_key().verify(b"hello", b"ctx", &sig),
        Ok(())
    );
}

#[test]
fn a_second_create_fails_and_overwrites_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ring = KeyRing::create(tmp.path()).expect("created");
    let before = fs::read(key_path(&ring)).expect("readable");
    let err = KeyRing::create(tmp.path()).expect_err("exists");
    assert!(matches!(err, KeyringError::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains("never overwritten"), "{err}");
    assert_eq!(fs::read(key_path(&ring)).expect("readable"), before);
    assert_eq!(private_files(tmp.path()).len(), 1);
    let reopened = KeyRing::open(tmp.path()).expect("opens");
    assert_eq!(
        reopened.current().fingerprint(),
        ring.current().fingerprint()
    );
}

#[test]
fn a_private_key_readable_by_others_is_refused_with_the_fix() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ring = KeyRing::create(tmp.path()).expect("created");
    let path = key_path(&ring);
    for bad in [0o640, 0o604, 0o620, 0o644, 0o660] {
        fs::set_permissions(&path, fs::Permissions::from_mode(bad)).expect("chmod");
        let err = KeyRing::open(tmp.path()).expect_err("refused");
        match &err {
            KeyringError::PrivateKeyPermissions { path: p, mode } => {
                assert_eq!(p, &path);
                assert_eq!(*mode, bad);
            }
            other => panic!("expected a permission error, got {other}"),
        }
        let text = err.to_string();
        assert!(text.contains(&format!("{bad:04o}")), "{text}");
        assert!(
            text.contains(&format!("chmod 600 {}", path.display())),
            "{text}"
        );
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).expect("chmod");
    KeyRing::open(tmp.path()).expect("0400 is private enough");
}

#[test]
fn a_directory_others_may_write_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    KeyRing::create(tmp.path()).expect("created");
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
    let err = KeyRing::open(tmp.path()).expect_err("refused");
    assert!(
        matches!(err, KeyringError::DirectoryPermissions { mode: 0o777, .. }),
        "{err}"
    );
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    KeyRing::open(tmp.path()).expect("0755 is fine");
}

#[test]
fn rotation_keeps_old_public_keys_with_their_retirement_and_drops_the_old_private_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut ring = KeyRing::create(tmp.path()).expect("created");
    let first = ring.current_info().clone();
    let old_sig = ring
        .current()
        .sign(b"signed before", b"ctx")
        .expect("signs");
    let old_path = key_path(&ring);

    let second = ring.rotate().expect("rotated").clone();
    assert_ne!(second.fingerprint, first.fingerprint);
    assert_eq!(second.retired, None);
    assert_eq!(ring.current().fingerprint(), second.fingerprint);
    assert_eq!(ring.keys().len(), 2);
    let retired = &ring.keys()[0];
    assert_eq!(retired.fingerprint, first.fingerprint);
    let when = retired.retired.expect("retired");
    assert!(when >= first.created && when == second.created);
    assert!(!old_path.exists(), "the retired private key is deleted");
    assert_eq!(private_files(tmp.path()), vec![key_path(&ring)]);
    assert_eq!(mode(&key_path(&ring)), 0o600);
    // What the retired key signed still verifies with its kept public key.
    assert_eq!(
        retired
            .public_key
            .verify(b"signed before", b"ctx", &old_sig),
        Ok(())
    );

    let third = ring.rotate().expect("rotated").clone();
    let reopened = KeyRing::open(tmp.path()).expect("opens");
    assert_eq!(reopened.current().fingerprint(), third.fingerprint);
    assert_eq!(reopened.keys(), ring.keys());
    let listed = KeyRing::list(tmp.path()).expect("lists");
    assert_eq!(listed.len(), 3);
    assert_eq!(
        listed.iter().filter(|k| k.retired.is_none()).count(),
        1,
        "only the current key is not retired"
    );
}

#[test]
fn listing_needs_no_access_to_the_private_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ring = KeyRing::create(tmp.path()).expect("created");
    fs::remove_file(key_path(&ring)).expect("removed");
    let listed = KeyRing::list(tmp.path()).expect("lists");
    assert_eq!(listed[0].fingerprint, ring.current().fingerprint());
    let err = KeyRing::open(tmp.path()).expect_err("no private key");
    assert!(matches!(err, KeyringError::Io { .. }), "{err}");
    assert!(err.to_string().contains("open the private key"), "{err}");
}

#[test]
fn a_missing_ring_says_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let err = KeyRing::open(&tmp.path().join("nowhere")).expect_err("missing");
    assert!(matches!(err, KeyringError::Missing { .. }), "{err}");
    let err = KeyRing::open(tmp.path()).expect_err("missing");
    assert!(matches!(err, KeyringError::Missing { .. }), "{err}");
}

#[test]
fn a_swapped_private_key_or_edited_ring_is_refused() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let ring_a = KeyRing::create(a.path()).expect("created");
    let ring_b = KeyRing::create(b.path()).expect("created");

    // B's private key under A's file name.
    fs::remove_file(key_path(&ring_a)).expect("removed");
    fs::copy(key_path(&ring_b), key_path(&ring_a)).expect("copied");
    fs::set_permissions(key_path(&ring_a), fs::Permissions::from_mode(0o600)).expect("chmod");
    let err = KeyRing::open(a.path()).expect_err("mismatch");
    assert!(matches!(err, KeyringError::KeyMismatch { .. }), "{err}");

    // A ring whose fingerprint does not match its public key.
    let ring_json = b.path().join("ring.json");
    let text = fs::read_to_string(&ring_json).expect("readable");
    let fp = ring_b.current().fingerprint().to_string();
    let mut other = fp.clone();
    let last = if other.ends_with('0') { "1" } else { "0" };
    other.replace_range(other.len() - 1.., last);
    fs::write(&ring_json, text.replace(&fp, &other)).expect("written");
    let err = KeyRing::open(b.path()).expect_err("malformed");
    assert!(matches!(err, KeyringError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("keys[0].fingerprint"), "{err}");

    // Not JSON at all.
    fs::write(&ring_json, "garbage").expect("written");
    let err = KeyRing::open(b.path()).expect_err("malformed");
    assert!(matches!(err, KeyringError::Malformed { .. }), "{err}");
}
