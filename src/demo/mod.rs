//! Deterministic demo city generator (DOMAIN.md section 7).
