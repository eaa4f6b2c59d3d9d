//! Random secrets (session tokens, API keys, emailed links) and their
//! SHA-256, the only form the database keeps.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new secret: `prefix` + 64 hex characters (256 random bits from the OS).
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

pub fn digest(secret: &str) -> Vec<u8> {
    digest_bytes(secret.as_bytes())
}

pub fn digest_bytes(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_digests_fixed_length() {
        let a = generate("gps_");
        let b = generate("gps_");
        assert_ne!(a, b);
        assert!(a.starts_with("gps_") && a.len() == 68);
        assert_eq!(digest(&a).len(), 32);
        assert_eq!(digest(&a), digest(&a));
    }
}
