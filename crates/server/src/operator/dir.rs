//! The `full` account resolver's directory (nats-server 2.9.10's `DirJWTStore` as the
//! `DirAccResolver` uses it): one file per account, `<dir>/<account key>.jwt`, holding
//! the account JWT as it was pushed. Not sharded; deleting renames the file to
//! `….jwt.deleted`. A JWT replaces the stored one only when it is newer (`iat`); the
//! same JWT again is a no-op.
//!
//! Files are small and written rarely (an operator pushing an account): plain blocking
//! writes from the system task, never from a client's reader.

use std::path::{Path, PathBuf};

use crate::jwt;

pub struct DirStore {
    pub dir: PathBuf,
    pub allow_delete: bool,
    /// At most this many JWTs; 0 = no limit.
    pub limit: i64,
}

/// What saving a JWT did.
#[derive(Debug, PartialEq)]
pub enum Saved {
    Written,
    /// Same JWT, or an older one than stored: nothing changed.
    Unchanged,
}

impl DirStore {
    pub fn open(dir: &Path, allow_delete: bool, limit: i64) -> Result<DirStore, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("could not create directory {}: {e}", dir.display()))?;
        Ok(DirStore {
            dir: dir.to_path_buf(),
            allow_delete,
            limit,
        })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.jwt"))
    }

    /// The stored JWT of `key`.
    pub fn load(&self, key: &str) -> Option<String> {
        if !jwt::is_public_key(key, 'A') {
            return None;
        }
        std::fs::read_to_string(self.path(key))
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// Every stored account key.
    pub fn list(&self) -> Vec<String> {
        let mut keys: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let key = name.strip_suffix(".jwt")?;
                jwt::is_public_key(key, 'A').then(|| key.to_string())
            })
            .collect();
        keys.sort();
        keys
    }

    /// Store `token` as account `key`'s JWT if it is newer than the stored one.
    pub fn save_if_newer(&self, key: &str, token: &str) -> Result<Saved, String> {
        let new = jwt::decode(token).map_err(|e| e.to_string())?;
        if let Some(old) = self.load(key) {
            if let Ok(old) = jwt::decode(&old) {
                let (o, n) = (old.data(), new.data());
                if o.id == n.id || o.issued_at > n.issued_at {
                    return Ok(Saved::Unchanged);
                }
            }
        } else if self.limit > 0 && self.list().len() as i64 >= self.limit {
            return Err("jwt store is full".into());
        }
        let path = self.path(key);
        let tmp = self.dir.join(format!(".{key}.jwt.tmp"));
        std::fs::write(&tmp, token.as_bytes())
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| e.to_string())?;
        Ok(Saved::Written)
    }

    /// Remove `key` (renamed to `….jwt.deleted`, as Go's `RenameDeleted`).
    pub fn delete(&self, key: &str) -> Result<(), String> {
        if !self.allow_delete {
            return Err("store is not set up to for delete".into());
        }
        let path = self.path(key);
        match std::fs::rename(&path, self.dir.join(format!("{key}.jwt.deleted"))) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_wins_and_delete_renames() {
        let d = tempfile::tempdir().unwrap();
        let store = DirStore::open(&d.path().join("jwt"), true, 2).unwrap();
        let op = nkeys::KeyPair::new_operator();
        let a = nkeys::KeyPair::new_account();
        let make = |name: &str, iat| {
            jwt::encode(
                serde_json::json!({"sub": a.public_key(), "name": name, "nats": {"type": "account"}}),
                &op,
                iat,
            )
            .unwrap()
        };
        let (v1, v2) = (make("one", 10), make("two", 20));
        let key = a.public_key();
        assert_eq!(store.save_if_newer(&key, &v2), Ok(Saved::Written));
        assert_eq!(store.save_if_newer(&key, &v1), Ok(Saved::Unchanged));
        assert_eq!(store.save_if_newer(&key, &v2), Ok(Saved::Unchanged));
        assert_eq!(store.load(&key).as_deref(), Some(v2.as_str()));
        assert_eq!(store.list(), vec![key.clone()]);
        store.delete(&key).unwrap();
        assert_eq!(store.load(&key), None);
        assert!(store.list().is_empty());
        // The limit counts stored accounts.
        for _ in 0..2 {
            let b = nkeys::KeyPair::new_account();
            let t = jwt::encode(
                serde_json::json!({"sub": b.public_key(), "nats": {"type": "account"}}),
                &op,
                1,
            )
            .unwrap();
            store.save_if_newer(&b.public_key(), &t).unwrap();
        }
        let c = nkeys::KeyPair::new_account();
        let t = jwt::encode(
            serde_json::json!({"sub": c.public_key(), "nats": {"type": "account"}}),
            &op,
            1,
        )
        .unwrap();
        assert!(store.save_if_newer(&c.public_key(), &t).is_err());
    }
}
