//! The composite signature through its public surface: round trip, tampering
//! with each half alone, with the message and with the context, and keys
//! that are not the signer's.

use provenance::composite::{
    PRIVATE_KEY_LEN, PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, Signature, SigningKey, VerifyError,
};

const CTX: &[u8] = b"entente-test";

fn flip(sig: &Signature, at: usize) -> Signature {
    let mut bytes = sig.as_bytes().to_vec();
    bytes[at] ^= 0x01;
    Signature::from_bytes(&bytes).expect("same length")
}

#[test]
fn a_signature_verifies_under_its_key_message_and_context() {
    let key = SigningKey::generate().expect("key");
    let sig = key.sign(b"a manifest", CTX).expect("signs");
    assert_eq!(sig.as_bytes().len(), SIGNATURE_LEN);
    assert_eq!(key.public_key().as_bytes().len(), PUBLIC_KEY_LEN);
    assert_eq!(key.public_key().verify(b"a manifest", CTX, &sig), Ok(()));
    // The public key survives its byte serialisation.
    let pk = PublicKey::from_bytes(key.public_key().as_bytes()).expect("length");
    assert_eq!(pk.verify(b"a manifest", CTX, &sig), Ok(()));
    assert_eq!(pk.fingerprint(), key.fingerprint());
}

#[test]
fn each_half_is_checked_on_its_own() {
    let key = SigningKey::generate().expect("key");
    let sig = key.sign(b"message", CTX).expect("signs");
    let pk = key.public_key();
    // A bit flipped in the ML-DSA-65 half only (its first and last bytes).
    assert_eq!(
        pk.verify(b"message", CTX, &flip(&sig, 0)),
        Err(VerifyError::MlDsa)
    );
    assert_eq!(
        pk.verify(b"message", CTX, &flip(&sig, 3308)),
        Err(VerifyError::MlDsa)
    );
    // A bit flipped in the Ed25519 half only (R, then S).
    assert_eq!(
        pk.verify(b"message", CTX, &flip(&sig, 3309)),
        Err(VerifyError::Ed25519)
    );
    assert_eq!(
        pk.verify(b"message", CTX, &flip(&sig, 3372)),
        Err(VerifyError::Ed25519)
    );
}

#[test]
fn stripping_one_half_and_pasting_another_signatures_half_fails() {
    // Halves of two genuine signatures over different messages, glued
    // together: each half is valid for its own message only, so the result
    // verifies for neither, and the error names the half that does not fit.
    let key = SigningKey::generate().expect("key");
    let a = key.sign(b"message one", CTX).expect("signs");
    let b = key.sign(b"message two", CTX).expect("signs");
    let mut mixed = a.as_bytes()[..3309].to_vec();
    mixed.extend_from_slice(&b.as_bytes()[3309..]);
    let mixed = Signature::from_bytes(&mixed).expect("length");
    assert_eq!(
        key.public_key().verify(b"message one", CTX, &mixed),
        Err(VerifyError::Ed25519)
    );
    assert_eq!(
        key.public_key().verify(b"message two", CTX, &mixed),
        Err(VerifyError::MlDsa)
    );
}

#[test]
fn another_message_or_context_fails_both_halves() {
    let key = SigningKey::generate().expect("key");
    let sig = key.sign(b"message", CTX).expect("signs");
    let pk = key.public_key();
    assert_eq!(pk.verify(b"messagE", CTX, &sig), Err(VerifyError::Both));
    assert_eq!(pk.verify(b"", CTX, &sig), Err(VerifyError::Both));
    assert_eq!(
        pk.verify(b"message", b"entente-tesT", &sig),
        Err(VerifyError::Both)
    );
    assert_eq!(pk.verify(b"message", b"", &sig), Err(VerifyError::Both));
    assert_eq!(
        pk.verify(b"message", &[0u8; 256], &sig),
        Err(VerifyError::ContextTooLong(256))
    );
}

#[test]
fn another_key_fails_and_mixed_keys_name_the_foreign_half() {
    let key = SigningKey::generate().expect("key");
    let other = SigningKey::generate().expect("key");
    let sig = key.sign(b"message", CTX).expect("signs");
    assert_eq!(
        other.public_key().verify(b"message", CTX, &sig),
        Err(VerifyError::Both)
    );
    // A public key made of the signer's ML-DSA key and someone else's
    // Ed25519 key (the "mixed key" forgery setting) is refused, naming the
    // half that does not belong.
    let mut mixed = key.public_key().as_bytes()[..1952].to_vec();
    mixed.extend_from_slice(&other.public_key().as_bytes()[1952..]);
    let mixed = PublicKey::from_bytes(&mixed).expect("length");
    assert_eq!(
        mixed.verify(b"message", CTX, &sig),
        Err(VerifyError::Ed25519)
    );
    assert_ne!(mixed.fingerprint(), key.fingerprint());
}

#[test]
fn the_same_private_bytes_give_the_same_key() {
    let bytes = [0x5au8; PRIVATE_KEY_LEN];
    let a = SigningKey::from_private_key_bytes(&bytes).expect("key");
    let b = SigningKey::from_private_key_bytes(&bytes).expect("key");
    assert_eq!(a.public_key(), b.public_key());
    let sig = a.sign(b"m", CTX).expect("signs");
    assert_eq!(b.public_key().verify(b"m", CTX, &sig), Ok(()));
    assert!(SigningKey::from_private_key_bytes(&bytes[..63]).is_err());
    assert!(PublicKey::from_bytes(&[0u8; PUBLIC_KEY_LEN - 1]).is_err());
    assert!(Signature::from_bytes(&[0u8; SIGNATURE_LEN + 1]).is_none());
}
