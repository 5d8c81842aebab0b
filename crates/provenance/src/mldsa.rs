//! ML-DSA-65 (FIPS 204) signing and verification *with a context string*.
//!
//! The composite construction ([`crate::composite`]) passes its label to
//! ML-DSA as the FIPS 204 context `ctx`. aws-lc-rs 1.19's safe `PqdsaKeyPair`
//! API always signs with the empty context, so this module calls the same
//! aws-lc library through `aws-lc-sys` (the crate aws-lc-rs itself links):
//! `EVP_DigestSign{Init,}` / `EVP_DigestVerify{Init,}` on an ML-DSA-65
//! `EVP_PKEY`, with `EVP_PKEY_CTX_set_signature_context` in between. That is
//! "pure" ML-DSA (FIPS 204 Algorithms 2 and 3), not HashML-DSA.
//!
//! This is the only `unsafe` code of the crate. Every pointer is owned by a
//! guard that frees it on every path; inputs are borrowed slices whose
//! lengths are passed alongside; nothing returned by aws-lc outlives its guard.
//! The tests check this path against aws-lc-rs's safe API (empty context) and
//! against the published composite test vectors.

use std::ptr::{self, NonNull};

use aws_lc_sys as sys;

/// ML-DSA-65 public key length (FIPS 204, Table 2).
pub(crate) const PUBLIC_KEY_LEN: usize = 1952;
/// ML-DSA-65 signature length (FIPS 204, Table 2).
pub(crate) const SIGNATURE_LEN: usize = 3309;
/// ML-DSA key generation seed length (FIPS 204, Algorithm 6 input ξ).
pub(crate) const SEED_LEN: usize = 32;
/// FIPS 204 limits the context string to 255 bytes.
pub(crate) const MAX_CONTEXT_LEN: usize = 255;

/// aws-lc refused an operation that cannot fail on well-formed input: a key
/// it could not build, or an allocation failure.
#[derive(Debug, thiserror::Error)]
#[error("aws-lc refused ML-DSA-65 {0}")]
pub(crate) struct MlDsaFailure(&'static str);

/// An owned `EVP_PKEY`.
struct Pkey(NonNull<sys::EVP_PKEY>);

impl Drop for Pkey {
    fn drop(&mut self) {
        // SAFETY: the pointer came from an aws-lc constructor, is owned by
        // this guard alone and is freed once.
        unsafe { sys::EVP_PKEY_free(self.0.as_ptr()) }
    }
}

// SAFETY: an EVP_PKEY is reference counted and not mutated after it is
// built; every signing or verifying call makes its own EVP_PKEY_CTX that
// takes a reference. aws-lc-rs declares its own ML-DSA key wrapper (the same
// EVP_PKEY underneath) Send and Sync on the same grounds.
unsafe impl Send for Pkey {}
// SAFETY: as above: shared use only reads the key.
unsafe impl Sync for Pkey {}

/// An owned `EVP_MD_CTX`; freeing it also frees the `EVP_PKEY_CTX` that
/// `EVP_DigestSignInit`/`EVP_DigestVerifyInit` attached to it.
struct MdCtx(NonNull<sys::EVP_MD_CTX>);

impl MdCtx {
    fn new() -> Result<Self, MlDsaFailure> {
        // SAFETY: plain allocation; a null result is handled.
        let raw = unsafe { sys::EVP_MD_CTX_new() };
        NonNull::new(raw)
            .map(MdCtx)
            .ok_or(MlDsaFailure("context allocation"))
    }
}

impl Drop for MdCtx {
    fn drop(&mut self) {
        // SAFETY: owned by this guard alone, freed once.
        unsafe { sys::EVP_MD_CTX_free(self.0.as_ptr()) }
    }
}

/// Forget what a failed call left on aws-lc's per-thread error queue, so
/// that a later, unrelated aws-lc-rs call on this thread does not see it.
fn clear_errors() {
    // SAFETY: no arguments; touches only the calling thread's error queue.
    unsafe { sys::ERR_clear_error() }
}

/// An ML-DSA-65 private key, expanded from its 32-byte seed.
pub(crate) struct SigningKey {
    pkey: Pkey,
}

impl SigningKey {
    /// Expands `seed` (FIPS 204 `ML-DSA.KeyGen_internal(ξ)`).
    pub(crate) fn from_seed(seed: &[u8; SEED_LEN]) -> Result<Self, MlDsaFailure> {
        // SAFETY: `seed` is a valid slice of SEED_LEN bytes for the call's
        // duration; aws-lc copies what it keeps. aws-lc-rs's
        // `PqdsaKeyPair::from_seed` makes the same call.
        let raw = unsafe {
            sys::EVP_PKEY_pqdsa_new_raw_private_key(sys::NID_MLDSA65, seed.as_ptr(), seed.len())
        };
        match NonNull::new(raw) {
            Some(p) => Ok(SigningKey { pkey: Pkey(p) }),
            None => {
                clear_errors();
                Err(MlDsaFailure("seed"))
            }
        }
    }

    /// `ML-DSA.Sign(sk, message, ctx)` (FIPS 204 Algorithm 2, hedged).
    pub(crate) fn sign(
        &self,
        message: &[u8],
        ctx: &[u8],
    ) -> Result<[u8; SIGNATURE_LEN], MlDsaFailure> {
        if ctx.len() > MAX_CONTEXT_LEN {
            return Err(MlDsaFailure("a context longer than 255 bytes"));
        }
        let md = MdCtx::new()?;
        let mut pctx: *mut sys::EVP_PKEY_CTX = ptr::null_mut();
        // SAFETY: `md` and the key are live for the whole function; a null
        // digest selects ML-DSA's own message handling; `pctx` receives a
        // pointer owned by `md`.
        let ok = unsafe {
            sys::EVP_DigestSignInit(
                md.0.as_ptr(),
                &mut pctx,
                ptr::null(),
                ptr::null_mut(),
                self.pkey.0.as_ptr(),
            )
        };
        if ok != 1 || pctx.is_null() {
            clear_errors();
            return Err(MlDsaFailure("signing initialisation"));
        }
        // SAFETY: `pctx` is live while `md` is; aws-lc copies the context.
        if unsafe { sys::EVP_PKEY_CTX_set_signature_context(pctx, ctx.as_ptr(), ctx.len()) } != 1 {
            clear_errors();
            return Err(MlDsaFailure("the signature context"));
        }
        let mut signature = [0u8; SIGNATURE_LEN];
        let mut written = signature.len();
        // SAFETY: the output buffer holds `written` bytes and aws-lc writes
        // at most that many (it checks and reports the length it wrote).
        let ok = unsafe {
            sys::EVP_DigestSign(
                md.0.as_ptr(),
                signature.as_mut_ptr(),
                &mut written,
                message.as_ptr(),
                message.len(),
            )
        };
        if ok != 1 || written != SIGNATURE_LEN {
            clear_errors();
            return Err(MlDsaFailure("signing"));
        }
        Ok(signature)
    }
}

/// `ML-DSA.Verify(pk, message, signature, ctx)` (FIPS 204 Algorithm 3).
/// False for any key, signature or context that does not verify, malformed
/// ones included.
pub(crate) fn verify(public_key: &[u8], message: &[u8], ctx: &[u8], signature: &[u8]) -> bool {
    if public_key.len() != PUBLIC_KEY_LEN
        || signature.len() != SIGNATURE_LEN
        || ctx.len() > MAX_CONTEXT_LEN
    {
        return false;
    }
    // SAFETY: `public_key` is a valid slice for the call; aws-lc copies it.
    let raw = unsafe {
        sys::EVP_PKEY_pqdsa_new_raw_public_key(
            sys::NID_MLDSA65,
            public_key.as_ptr(),
            public_key.len(),
        )
    };
    let Some(pkey) = NonNull::new(raw).map(Pkey) else {
        clear_errors();
        return false;
    };
    let Ok(md) = MdCtx::new() else {
        return false;
    };
    let mut pctx: *mut sys::EVP_PKEY_CTX = ptr::null_mut();
    // SAFETY: as in `SigningKey::sign`; `pkey` and `md` outlive the calls.
    let ok = unsafe {
        sys::EVP_DigestVerifyInit(
            md.0.as_ptr(),
            &mut pctx,
            ptr::null(),
            ptr::null_mut(),
            pkey.0.as_ptr(),
        )
    };
    if ok != 1 || pctx.is_null() {
        clear_errors();
        return false;
    }
    // SAFETY: `pctx` is live while `md` is; aws-lc copies the context.
    if unsafe { sys::EVP_PKEY_CTX_set_signature_context(pctx, ctx.as_ptr(), ctx.len()) } != 1 {
        clear_errors();
        return false;
    }
    // SAFETY: both buffers are valid for the lengths passed.
    let ok = unsafe {
        sys::EVP_DigestVerify(
            md.0.as_ptr(),
            signature.as_ptr(),
            signature.len(),
            message.as_ptr(),
            message.len(),
        )
    };
    if ok != 1 {
        clear_errors();
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{
        KeyPair, ML_DSA_65, ML_DSA_65_SIGNING, PqdsaKeyPair, UnparsedPublicKey,
    };

    fn seed(n: u8) -> [u8; SEED_LEN] {
        [n; SEED_LEN]
    }

    #[test]
    fn empty_context_agrees_with_the_safe_aws_lc_rs_api_both_ways() {
        let s = seed(7);
        let safe = PqdsaKeyPair::from_seed(&ML_DSA_65_SIGNING, &s).expect("seed accepted");
        let ours = SigningKey::from_seed(&s).expect("seed accepted");
        let pk = safe.public_key().as_ref().to_vec();
        let msg = b"entente provenance";

        let sig = ours.sign(msg, b"").expect("signs");
        UnparsedPublicKey::new(&ML_DSA_65, &pk)
            .verify(msg, &sig)
            .expect("aws-lc-rs verifies what this module signed with an empty context");

        let mut theirs = vec![0u8; SIGNATURE_LEN];
        safe.sign(msg, &mut theirs).expect("signs");
        assert!(verify(&pk, msg, b"", &theirs));
    }

    #[test]
    fn the_context_is_bound_into_the_signature() {
        let s = seed(9);
        let key = SigningKey::from_seed(&s).expect("seed accepted");
        let pk = PqdsaKeyPair::from_seed(&ML_DSA_65_SIGNING, &s)
            .expect("seed accepted")
            .public_key()
            .as_ref()
            .to_vec();
        let msg = b"message";
        let sig = key.sign(msg, b"label-a").expect("signs");
        assert!(verify(&pk, msg, b"label-a", &sig));
        assert!(!verify(&pk, msg, b"label-b", &sig));
        assert!(!verify(&pk, msg, b"", &sig));
        // The safe API (empty context) must refuse it too: proof that the
        // context reached ML-DSA rather than being dropped on the way.
        assert!(
            UnparsedPublicKey::new(&ML_DSA_65, &pk)
                .verify(msg, &sig)
                .is_err()
        );
    }

    #[test]
    fn malformed_inputs_do_not_verify() {
        let s = seed(3);
        let key = SigningKey::from_seed(&s).expect("seed accepted");
        let pk = PqdsaKeyPair::from_seed(&ML_DSA_65_SIGNING, &s)
            .expect("seed accepted")
            .public_key()
            .as_ref()
            .to_vec();
        let sig = key.sign(b"m", b"c").expect("signs");
        assert!(!verify(&pk[..PUBLIC_KEY_LEN - 1], b"m", b"c", &sig));
        assert!(!verify(&pk, b"m", b"c", &sig[..SIGNATURE_LEN - 1]));
        assert!(!verify(&pk, b"m", &[0u8; 256], &sig));
        assert!(key.sign(b"m", &[0u8; 256]).is_err());
    }
}
