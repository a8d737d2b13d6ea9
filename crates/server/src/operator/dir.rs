//! The `full` account resolver's directory (nats-server 2.9.10's `DirJWTStore` as the
//! `DirAccResolver` uses it): one file per account, `<dir>/<account key>.jwt`, holding
//! the account JWT as it was pushed. Not sharded; deleting renames the file to
//! `….jwt.deleted`. A JWT replaces the stored one only when it is newer (`iat`); the
//! same JWT again is a no-op.
//!
//! The `cache` resolver uses the same store with a tracker (nats-server's
//! `expirationTracker` with `evictOnLimit`): at most `limit` files, the least recently
//! used one removed to make room; each entry expires `ttl` after it was last written or
//! read (with no `ttl`: when its JWT expires), and an expired file is removed (by
//! [`DirStore::sweep`], and on the next read). Deleting removes the file.
//!
//! Files are small and written rarely (an operator pushing an account): plain blocking
//! writes from the system task, never from a client's reader.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::jwt;

pub struct DirStore {
    pub dir: PathBuf,
    pub allow_delete: bool,
    /// At most this many JWTs; 0 = no limit.
    pub limit: i64,
    /// The `cache` resolver's tracker; `None` for `full`.
    cache: Option<Mutex<Tracker>>,
}

/// What the `cache` resolver tracks per stored file.
struct Tracker {
    ttl: Duration,
    /// Account key → (last use, for LRU; expiry, `None`: never).
    entries: HashMap<String, (u64, Option<Instant>)>,
    clock: u64,
}

impl Tracker {
    fn expiry(&self, token: &str) -> Option<Instant> {
        if !self.ttl.is_zero() {
            return Instant::now().checked_add(self.ttl);
        }
        let exp = jwt::decode(token).ok()?.data().expires;
        if exp <= 0 {
            return None;
        }
        let left = exp - jwt::now();
        Some(Instant::now() + Duration::from_secs(left.max(0) as u64))
    }

    fn touch(&mut self, key: &str, token: Option<&str>) {
        self.clock += 1;
        let clock = self.clock;
        let exp = match token {
            Some(t) => self.expiry(t),
            None if !self.ttl.is_zero() => Instant::now().checked_add(self.ttl),
            None => self.entries.get(key).and_then(|e| e.1),
        };
        self.entries.insert(key.to_string(), (clock, exp));
    }
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
            cache: None,
        })
    }

    /// The `cache` resolver's store: the files already there are tracked (as just used).
    pub fn open_cache(dir: &Path, limit: i64, ttl: Duration) -> Result<DirStore, String> {
        let mut store = DirStore::open(dir, true, limit)?;
        let mut t = Tracker {
            ttl,
            entries: HashMap::new(),
            clock: 0,
        };
        for key in store.list() {
            if let Ok(token) = std::fs::read_to_string(store.path(&key)) {
                t.touch(&key, Some(token.trim()));
            }
        }
        store.cache = Some(Mutex::new(t));
        Ok(store)
    }

    /// The `cache` resolver's store.
    pub fn is_cache(&self) -> bool {
        self.cache.is_some()
    }

    /// Remove the expired entries of a cache; returns how often to look again (half the
    /// ttl, at most a minute, as nats-server).
    pub fn sweep(&self) -> Duration {
        let Some(c) = &self.cache else {
            return Duration::from_secs(60);
        };
        let mut t = c.lock();
        let now = Instant::now();
        let expired: Vec<String> = t
            .entries
            .iter()
            .filter(|(_, (_, exp))| exp.is_some_and(|e| e <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            if std::fs::remove_file(self.path(&k)).is_ok() {
                t.entries.remove(&k);
            }
        }
        let every = if t.ttl.is_zero() {
            Duration::from_secs(60)
        } else {
            t.ttl / 2
        };
        every.clamp(Duration::from_millis(10), Duration::from_secs(60))
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.jwt"))
    }

    /// The stored JWT of `key`.
    pub fn load(&self, key: &str) -> Option<String> {
        if !jwt::is_public_key(key, 'A') {
            return None;
        }
        if let Some(c) = &self.cache {
            let mut t = c.lock();
            let now = Instant::now();
            if let Some((_, Some(exp))) = t.entries.get(key) {
                if *exp <= now && std::fs::remove_file(self.path(key)).is_ok() {
                    t.entries.remove(key);
                    return None;
                }
            }
            let token = std::fs::read_to_string(self.path(key)).ok()?;
            t.touch(key, None);
            return Some(token.trim().to_string());
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
        } else if self.cache.is_none() && self.limit > 0 && self.list().len() as i64 >= self.limit {
            return Err("jwt store is full".into());
        }
        self.write(key, token)
    }

    /// Store `token` as account `key`'s JWT unless it is the stored one (nats-server's
    /// `save`, what the `cache` resolver's update handlers use).
    pub fn save(&self, key: &str, token: &str) -> Result<Saved, String> {
        if !jwt::is_public_key(key, 'A') {
            return Err("invalid public key".into());
        }
        if self.load(key).as_deref() == Some(token) {
            return Ok(Saved::Unchanged);
        }
        self.write(key, token)
    }

    /// Write the file; a full cache first removes its least recently used entry.
    fn write(&self, key: &str, token: &str) -> Result<Saved, String> {
        let mut tracker = self.cache.as_ref().map(|c| c.lock());
        if let Some(t) = tracker.as_mut() {
            if !t.entries.contains_key(key) && t.entries.len() as i64 >= self.limit.max(1) {
                let lru = t
                    .entries
                    .iter()
                    .min_by_key(|(_, (used, _))| *used)
                    .map(|(k, _)| k.clone());
                if let Some(old) = lru {
                    std::fs::remove_file(self.path(&old)).map_err(|e| e.to_string())?;
                    t.entries.remove(&old);
                }
            }
        }
        let path = self.path(key);
        let tmp = self.dir.join(format!(".{key}.jwt.tmp"));
        std::fs::write(&tmp, token.as_bytes())
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| e.to_string())?;
        if let Some(t) = tracker.as_mut() {
            t.touch(key, Some(token));
        }
        Ok(Saved::Written)
    }

    /// Remove `key` (renamed to `….jwt.deleted`, as Go's `RenameDeleted`).
    pub fn delete(&self, key: &str) -> Result<(), String> {
        if !self.allow_delete {
            return Err("store is not set up to for delete".into());
        }
        let path = self.path(key);
        if let Some(c) = &self.cache {
            // The cache removes the file (nats-server's `HardDelete`).
            c.lock().entries.remove(key);
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.to_string()),
                _ => Ok(()),
            };
        }
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

    #[test]
    fn cache_evicts_the_least_recently_used_and_expires_by_ttl() {
        let d = tempfile::tempdir().unwrap();
        let op = nkeys::KeyPair::new_operator();
        let make = |kp: &nkeys::KeyPair, name: &str| {
            jwt::encode(
                serde_json::json!({"sub": kp.public_key(), "name": name, "nats": {"type": "account"}}),
                &op,
                1,
            )
            .unwrap()
        };
        let accs: Vec<_> = (0..3).map(|_| nkeys::KeyPair::new_account()).collect();
        let store = DirStore::open_cache(&d.path().join("c"), 2, Duration::ZERO).unwrap();
        let (a, b, c) = (&accs[0], &accs[1], &accs[2]);
        store.save(&a.public_key(), &make(a, "a")).unwrap();
        store.save(&b.public_key(), &make(b, "b")).unwrap();
        // A is used again: B is now the least recently used, and goes for C.
        assert!(store.load(&a.public_key()).is_some());
        store.save_if_newer(&c.public_key(), &make(c, "c")).unwrap();
        let mut want = vec![a.public_key(), c.public_key()];
        want.sort();
        assert_eq!(store.list(), want);
        assert_eq!(store.load(&b.public_key()), None);
        // Saving the same JWT again changes nothing; a new one replaces it.
        assert_eq!(
            store.save(&a.public_key(), &make(a, "a")),
            Ok(Saved::Unchanged)
        );
        assert_eq!(
            store.save(&a.public_key(), &make(a, "a2")),
            Ok(Saved::Written)
        );
        // Deleting removes the file.
        store.delete(&c.public_key()).unwrap();
        assert_eq!(store.list(), vec![a.public_key()]);
        // A ttl: an entry not used for that long is gone.
        let ttl = DirStore::open_cache(&d.path().join("t"), 10, Duration::from_millis(30)).unwrap();
        ttl.save(&a.public_key(), &make(a, "a")).unwrap();
        assert!(ttl.load(&a.public_key()).is_some());
        std::thread::sleep(Duration::from_millis(60));
        ttl.sweep();
        assert!(ttl.list().is_empty());
        assert_eq!(ttl.load(&a.public_key()), None);
        // Files already there are tracked when a cache opens.
        ttl.save(&b.public_key(), &make(b, "b")).unwrap();
        let again = DirStore::open_cache(&d.path().join("t"), 1, Duration::ZERO).unwrap();
        again.save(&c.public_key(), &make(c, "c")).unwrap();
        assert_eq!(again.list(), vec![c.public_key()]);
    }
}
