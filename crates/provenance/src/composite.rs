//! The hybrid signature: composite ML-DSA-65 + Ed25519.
//!
//! # What is followed
//!
//! `id-MLDSA65-Ed25519-SHA512` (OID 1.3.6.1.5.5.7.6.48) of
//! **draft-ietf-lamps-pq-composite-sigs-19** (April 2026), sections "Prefix,
//! Label, and CTX", "Sign", "Verify" and "Serialization", exactly:
//!
//! ```text
//! Prefix = "CompositeAlgorithmSignatures2025"            (32 ASCII bytes)
//! Label  = "COMPSIG-MLDSA65-Ed25519-SHA512"              (30 ASCII bytes)
//! M'     = Prefix || Label || len(ctx) (1 byte) || ctx || SHA-512(M)
//! s      = ML-DSA-65.Sign(mldsaSK, M', ctx = Label)      (3309 bytes, pure ML-DSA)
//!       || Ed25519.Sign(edSK, M')                        (64 bytes, RFC 8032)
//! pk     = mldsaPK (1952 bytes) || edPK (32 bytes)
//! sk     = mldsaSeed (32 bytes) || edSeed (32 bytes)    (the draft's SerializePrivateKey)
//! ```
//!
//! Verification recomputes `M'` and accepts only when **both** components
//! verify (the draft's step 4); [`VerifyError`] says which one failed. The
//! application context `ctx` (at most 255 bytes) is Entente's domain
//! separator: manifests and document signatures pass different contexts
//! ([`crate::manifest::CONTEXT`], [`crate::document::CONTEXT`]), so a
//! signature made for one can never be taken for the other even if their
//! JSON happened to coincide.
//!
//! The JOSE/COSE profile (draft-ietf-jose-pq-composite-sigs, algorithm name
//! `ML-DSA-65-Ed25519`, [`JOSE_ALGORITHM`]) uses the same label, prefix and
//! component order, but fixes the application context to the empty string
//! and signs the JWS signing input. Entente signs no JWS (the signature sits
//! in a STIX object over the object's RFC 8785 form, see [`crate::manifest`]),
//! so it uses the LAMPS function directly with a non-empty `ctx`; the JOSE
//! name is carried as the algorithm label only. RFC 9964 registers ML-DSA-65
//! alone for JOSE/COSE (with an empty context); no composite is registered.
//!
//! # Deviations, and why
//!
//! - None in the construction. aws-lc-rs 1.19's safe API cannot pass an
//!   ML-DSA context string (its `PqdsaKeyPair::sign` always uses the empty
//!   one), and the draft passes `Label` as that context; rather than deviate
//!   (pure ML-DSA with an empty context would make signatures no other
//!   implementation of the draft accepts), the private `mldsa` module calls aws-lc's
//!   context API through `aws-lc-sys`, the library aws-lc-rs links. Ed25519,
//!   SHA-256/512 and randomness come from aws-lc-rs.
//! - Keys are not wrapped in ASN.1/X.509 (the draft's PKIX sections): the raw
//!   serialisations above travel base64-encoded inside STIX objects.
//! - ML-DSA signing is hedged (aws-lc's default: fresh randomness per
//!   signature), so signatures are not reproducible byte for byte; the
//!   Ed25519 half is deterministic.
//!
//! The draft's published test vectors for this algorithm are checked by
//! `tests/composite_vectors.rs`.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::mldsa;

/// The draft's prefix: ASCII "CompositeAlgorithmSignatures2025".
pub const PREFIX: &[u8; 32] = b"CompositeAlgorithmSignatures2025";
/// The draft's signature label for `id-MLDSA65-Ed25519-SHA512`, which
/// Entente also uses as the algorithm's name in its files.
pub const ALGORITHM: &str = "COMPSIG-MLDSA65-Ed25519-SHA512";
/// [`ALGORITHM`] as the bytes that enter `M'` and the ML-DSA context.
pub const LABEL: &[u8] = ALGORITHM.as_bytes();
/// The draft's object identifier for this composite.
pub const OID: &str = "1.3.6.1.5.5.7.6.48";
/// The algorithm's name in draft-ietf-jose-pq-composite-sigs; Entente writes
/// it as the `alg` of every signature it emits.
pub const JOSE_ALGORITHM: &str = "ML-DSA-65-Ed25519";

/// ML-DSA-65 public key, then Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = mldsa::PUBLIC_KEY_LEN + ED25519_PUBLIC_KEY_LEN;
/// ML-DSA-65 signature, then Ed25519 signature.
pub const SIGNATURE_LEN: usize = mldsa::SIGNATURE_LEN + ED25519_SIGNATURE_LEN;
/// ML-DSA-65 seed, then Ed25519 seed.
pub const PRIVATE_KEY_LEN: usize = mldsa::SEED_LEN + ED25519_SEED_LEN;
/// The longest application context the draft allows.
pub const MAX_CONTEXT_LEN: usize = mldsa::MAX_CONTEXT_LEN;

const ED25519_PUBLIC_KEY_LEN: usize = 32;
const ED25519_SIGNATURE_LEN: usize = 64;
const ED25519_SEED_LEN: usize = 32;

/// Printed before a fingerprint's hex digits.
pub const FINGERPRINT_PREFIX: &str = "mldsa65-ed25519:";
/// Domain separator of the fingerprint hash (see [`Fingerprint`]).
const FINGERPRINT_DOMAIN: &[u8] = b"entente-key-fingerprint-v1";

/// A key that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "a composite ML-DSA-65 + Ed25519 public key is {PUBLIC_KEY_LEN} bytes \
         (1952 of ML-DSA-65, then 32 of Ed25519), not {0}"
    )]
    PublicKeyLength(usize),
    #[error(
        "a composite private key is {PRIVATE_KEY_LEN} bytes \
         (the 32-byte ML-DSA-65 seed, then the 32-byte Ed25519 seed), not {0}"
    )]
    PrivateKeyLength(usize),
    #[error("aws-lc refused the ML-DSA-65 seed of the private key")]
    MlDsaSeed,
    #[error("aws-lc refused the Ed25519 seed of the private key")]
    Ed25519Seed,
    #[error("the system random generator failed while making a key")]
    Random,
}

/// Signing failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("a signature context is at most {MAX_CONTEXT_LEN} bytes, this one has {0}")]
    ContextTooLong(usize),
    #[error("ML-DSA-65 signing failed inside aws-lc")]
    MlDsa,
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("a signature context is at most {MAX_CONTEXT_LEN} bytes, this one has {0}")]
    ContextTooLong(usize),
    #[error("the ML-DSA-65 half of the composite signature does not verify")]
    MlDsa,
    #[error("the Ed25519 half of the composite signature does not verify")]
    Ed25519,
    #[error("neither half (ML-DSA-65 nor Ed25519) of the composite signature verifies")]
    Both,
}

/// A malformed fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FingerprintError {
    #[error("a key fingerprint starts with \"{FINGERPRINT_PREFIX}\"; \"{0}\" does not")]
    Prefix(String),
    #[error("a key fingerprint has 64 hex digits after \"{FINGERPRINT_PREFIX}\"; \"{0}\" does not")]
    Digits(String),
}

/// `M'` of the draft for message `message` and application context `ctx`.
pub fn message_representative(message: &[u8], ctx: &[u8]) -> Result<Vec<u8>, SignError> {
    representative_of_digest(digest::digest(&digest::SHA512, message).as_ref(), ctx)
        .ok_or(SignError::ContextTooLong(ctx.len()))
}

fn representative_of_digest(prehash: &[u8], ctx: &[u8]) -> Option<Vec<u8>> {
    let ctx_len = u8::try_from(ctx.len()).ok()?;
    let mut m = Vec::with_capacity(PREFIX.len() + LABEL.len() + 1 + ctx.len() + prehash.len());
    m.extend_from_slice(PREFIX);
    m.extend_from_slice(LABEL);
    m.push(ctx_len);
    m.extend_from_slice(ctx);
    m.extend_from_slice(prehash);
    Some(m)
}

/// A composite public key: the ML-DSA-65 key then the Ed25519 key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    bytes: Box<[u8; PUBLIC_KEY_LEN]>,
}

impl PublicKey {
    /// From the draft's `SerializePublicKey` bytes. Only the length is
    /// checked here; a key that is not a valid point or lattice key simply
    /// never verifies anything.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: [u8; PUBLIC_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| KeyError::PublicKeyLength(bytes.len()))?;
        Ok(PublicKey {
            bytes: Box::new(array),
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..]
    }

    fn mldsa(&self) -> &[u8] {
        &self.bytes[..mldsa::PUBLIC_KEY_LEN]
    }

    fn ed25519(&self) -> &[u8] {
        &self.bytes[mldsa::PUBLIC_KEY_LEN..]
    }

    /// See [`Fingerprint`] for the exact bytes hashed.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(FINGERPRINT_DOMAIN);
        ctx.update(&[0]);
        ctx.update(LABEL);
        ctx.update(&[0]);
        ctx.update(self.mldsa());
        ctx.update(self.ed25519());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        Fingerprint(out)
    }

    /// The draft's `Composite-ML-DSA.Verify(pk, message, signature, ctx)`:
    /// both components must verify.
    pub fn verify(
        &self,
        message: &[u8],
        ctx: &[u8],
        signature: &Signature,
    ) -> Result<(), VerifyError> {
        let prehash = digest::digest(&digest::SHA512, message);
        let m = representative_of_digest(prehash.as_ref(), ctx)
            .ok_or(VerifyError::ContextTooLong(ctx.len()))?;
        // Both halves are always checked (no early exit) so that the error
        // names every half that failed; verification handles no secret.
        let mldsa_ok = mldsa::verify(self.mldsa(), &m, LABEL, signature.mldsa());
        let ed_ok = UnparsedPublicKey::new(&ED25519, self.ed25519())
            .verify(&m, signature.ed25519())
            .is_ok();
        match (mldsa_ok, ed_ok) {
            (true, true) => Ok(()),
            (false, true) => Err(VerifyError::MlDsa),
            (true, false) => Err(VerifyError::Ed25519),
            (false, false) => Err(VerifyError::Both),
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

/// A composite signature: the ML-DSA-65 signature then the Ed25519 one.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    bytes: Box<[u8; SIGNATURE_LEN]>,
}

impl Signature {
    /// From the draft's `SerializeSignatureValue` bytes; `None` unless the
    /// length is exactly [`SIGNATURE_LEN`].
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let array: [u8; SIGNATURE_LEN] = bytes.try_into().ok()?;
        Some(Signature {
            bytes: Box::new(array),
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..]
    }

    fn mldsa(&self) -> &[u8] {
        &self.bytes[..mldsa::SIGNATURE_LEN]
    }

    fn ed25519(&self) -> &[u8] {
        &self.bytes[mldsa::SIGNATURE_LEN..]
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({} bytes)", SIGNATURE_LEN)
    }
}

/// The stable name of a composite public key.
///
/// `SHA-256( "entente-key-fingerprint-v1" || 0x00 || Label || 0x00 || mldsaPK || edPK )`,
/// where `Label` is the 30 ASCII bytes `COMPSIG-MLDSA65-Ed25519-SHA512`,
/// `mldsaPK` the 1952-byte ML-DSA-65 public key and `edPK` the 32-byte
/// Ed25519 public key (every part has a fixed length, so the encoding is
/// unambiguous). Printed as `mldsa65-ed25519:` followed by the 64 lowercase
/// hex digits of the hash; parsing accepts either case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{FINGERPRINT_PREFIX}{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s
            .strip_prefix(FINGERPRINT_PREFIX)
            .ok_or_else(|| FingerprintError::Prefix(s.to_string()))?;
        let mut out = [0u8; 32];
        if digits.len() != 64 || hex::decode_to_slice(digits, &mut out).is_err() {
            return Err(FingerprintError::Digits(s.to_string()));
        }
        Ok(Fingerprint(out))
    }
}

/// The private half of a composite key, in the draft's serialisation
/// (`mldsaSeed || edSeed`). Wiped when dropped.
pub(crate) struct PrivateKeyBytes([u8; PRIVATE_KEY_LEN]);

impl PrivateKeyBytes {
    /// Fresh seeds for both components (the draft requires both to be new).
    pub(crate) fn generate() -> Result<Self, KeyError> {
        let mut bytes = PrivateKeyBytes([0u8; PRIVATE_KEY_LEN]);
        aws_lc_rs::rand::fill(&mut bytes.0).map_err(|_| KeyError::Random)?;
        Ok(bytes)
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: [u8; PRIVATE_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| KeyError::PrivateKeyLength(bytes.len()))?;
        Ok(PrivateKeyBytes(array))
    }

    pub(crate) fn as_bytes(&self) -> &[u8; PRIVATE_KEY_LEN] {
        &self.0
    }
}

impl Drop for PrivateKeyBytes {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Overwrites secret bytes so they do not linger in freed memory. Volatile
/// writes keep the compiler from dropping stores to memory about to die.
pub(crate) fn wipe(bytes: &mut [u8]) {
    for b in bytes.iter_mut() {
        // SAFETY: `b` is a valid, aligned, exclusive reference.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

/// A composite private key, ready to sign. It cannot be exported: the only
/// copy of its bytes on disk is the one [`crate::keyring`] wrote at creation.
pub struct SigningKey {
    mldsa: mldsa::SigningKey,
    ed25519: Ed25519KeyPair,
    public: PublicKey,
}

impl SigningKey {
    /// A fresh key that lives in memory only (tests, benchmarks, one-off
    /// signing). Node and organisation keys come from a [`crate::KeyRing`].
    pub fn generate() -> Result<Self, KeyError> {
        Self::from_private(&PrivateKeyBytes::generate()?)
    }

    /// From the draft's `SerializePrivateKey` bytes (`mldsaSeed || edSeed`,
    /// 64 bytes), for interoperability tests with other implementations.
    pub fn from_private_key_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        Self::from_private(&PrivateKeyBytes::from_slice(bytes)?)
    }

    pub(crate) fn from_private(private: &PrivateKeyBytes) -> Result<Self, KeyError> {
        let (mldsa_seed, ed_seed) = private.as_bytes().split_at(mldsa::SEED_LEN);
        let mut seed = [0u8; mldsa::SEED_LEN];
        seed.copy_from_slice(mldsa_seed);
        let mldsa_key = mldsa::SigningKey::from_seed(&seed);
        wipe(&mut seed);
        let mldsa_key = mldsa_key.map_err(|_| KeyError::MlDsaSeed)?;
        // The public half comes from aws-lc-rs's safe API on the same seed.
        let mldsa_public = aws_lc_rs::signature::PqdsaKeyPair::from_seed(
            &aws_lc_rs::signature::ML_DSA_65_SIGNING,
            mldsa_seed,
        )
        .map_err(|_| KeyError::MlDsaSeed)?;
        let ed25519 =
            Ed25519KeyPair::from_seed_unchecked(ed_seed).map_err(|_| KeyError::Ed25519Seed)?;
        let mut public = Vec::with_capacity(PUBLIC_KEY_LEN);
        public.extend_from_slice(mldsa_public.public_key().as_ref());
        public.extend_from_slice(ed25519.public_key().as_ref());
        Ok(SigningKey {
            mldsa: mldsa_key,
            ed25519,
            public: PublicKey::from_bytes(&public)?,
        })
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    pub fn fingerprint(&self) -> Fingerprint {
        self.public.fingerprint()
    }

    /// The draft's `Composite-ML-DSA.Sign(sk, message, ctx)`.
    pub fn sign(&self, message: &[u8], ctx: &[u8]) -> Result<Signature, SignError> {
        let m = message_representative(message, ctx)?;
        let mldsa_sig = self.mldsa.sign(&m, LABEL).map_err(|_| SignError::MlDsa)?;
        let ed_sig = self.ed25519.sign(&m);
        let mut bytes = Box::new([0u8; SIGNATURE_LEN]);
        bytes[..mldsa::SIGNATURE_LEN].copy_from_slice(&mldsa_sig);
        bytes[mldsa::SIGNATURE_LEN..].copy_from_slice(ed_sig.as_ref());
        Ok(Signature { bytes })
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_representative_has_the_drafts_layout() {
        let m = message_representative(b"abc", b"ctx").expect("short context");
        assert_eq!(&m[..32], b"CompositeAlgorithmSignatures2025");
        assert_eq!(
            hex::encode(&m[..32]).to_uppercase(),
            "436F6D706F73697465416C676F726974686D5369676E61747572657332303235"
        );
        assert_eq!(&m[32..62], b"COMPSIG-MLDSA65-Ed25519-SHA512");
        assert_eq!(m[62], 3);
        assert_eq!(&m[63..66], b"ctx");
        // SHA-512("abc"), FIPS 180-2 appendix C.1.
        assert_eq!(
            hex::encode(&m[66..]),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(m.len(), 66 + 64);
    }

    #[test]
    fn an_overlong_context_is_refused_with_its_length() {
        assert!(matches!(
            message_representative(b"", &[0; 256]),
            Err(SignError::ContextTooLong(256))
        ));
        assert!(message_representative(b"", &[0; 255]).is_ok());
    }

    #[test]
    fn fingerprints_print_and_parse() {
        let key = SigningKey::generate().expect("key");
        let fp = key.fingerprint();
        let text = fp.to_string();
        assert!(text.starts_with("mldsa65-ed25519:"));
        assert_eq!(text.len(), "mldsa65-ed25519:".len() + 64);
        assert_eq!(text.parse::<Fingerprint>(), Ok(fp));
        assert_eq!(
            text.to_uppercase()
                .replace("MLDSA65-ED25519", "mldsa65-ed25519")
                .parse::<Fingerprint>(),
            Ok(fp)
        );
        assert!(matches!(
            "ed25519:00".parse::<Fingerprint>(),
            Err(FingerprintError::Prefix(_))
        ));
        assert!(matches!(
            text[..text.len() - 1].parse::<Fingerprint>(),
            Err(FingerprintError::Digits(_))
        ));
    }

    #[test]
    fn the_fingerprint_hashes_the_documented_bytes() {
        let key = SigningKey::generate().expect("key");
        let pk = key.public_key().as_bytes();
        let mut input = b"entente-key-fingerprint-v1\0COMPSIG-MLDSA65-Ed25519-SHA512\0".to_vec();
        input.extend_from_slice(pk);
        let expected = digest::digest(&digest::SHA256, &input);
        assert_eq!(key.fingerprint().as_bytes(), expected.as_ref());
    }

    #[test]
    fn debug_output_never_shows_private_material() {
        let key = SigningKey::from_private_key_bytes(&[0x42; PRIVATE_KEY_LEN]).expect("key");
        let shown = format!("{key:?}");
        assert!(shown.starts_with("SigningKey(mldsa65-ed25519:"));
        assert!(!shown.contains("4242"));
    }
}
