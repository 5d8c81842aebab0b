//! API tokens: `ent_` followed by 256 random bits in base64url.
//!
//! Only the SHA-256 digest is stored. Lookup is by digest, so the comparison
//! that matters happens inside the database index on a value an attacker
//! cannot choose; [`verify`] exists for callers holding a digest already.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

const PREFIX: &str = "ent_";

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(String);

/// A new secret token. Show it once; store [`digest`] of it.
pub fn generate() -> Result<String, RandomError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The SHA-256 digest under which a token is stored.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Constant-time check of a secret against a stored digest.
pub fn verify(secret: &str, stored: &[u8; 32]) -> bool {
    use subtle::ConstantTimeEq;
    digest(secret).ct_eq(stored).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_prefixed_and_verifiable() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX));
        assert_eq!(a.len(), PREFIX.len() + 43);
        assert!(verify(&a, &digest(&a)));
        assert!(!verify(&b, &digest(&a)));
    }
}
