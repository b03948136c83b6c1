//! "Never two requests for the same user at once": one async lock per user in flight, removed when
//! nobody holds or waits for it, so memory follows concurrency, not the number of users.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

type Map = Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>;

#[derive(Clone, Default)]
pub struct UserLocks {
    map: Map,
}

pub struct UserGuard {
    map: Map,
    user: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl UserLocks {
    pub async fn lock(&self, user: &str) -> UserGuard {
        let lock = {
            let mut map = self.map.lock().expect("user locks");
            map.entry(user.to_string()).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        UserGuard {
            map: self.map.clone(),
            user: user.to_string(),
            guard: Some(guard),
        }
    }

    /// Users with a lock entry (held or awaited).
    pub fn len(&self) -> usize {
        self.map.lock().expect("user locks").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for UserGuard {
    fn drop(&mut self) {
        let mut map = self.map.lock().expect("user locks");
        drop(self.guard.take());
        // Only the map holds it now: nobody is waiting.
        if map
            .get(&self.user)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            map.remove(&self.user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn serialises_one_user_and_forgets_it_afterwards() {
        let locks = UserLocks::default();
        let first = locks.lock("alice").await;
        let other = locks.lock("bob").await; // another user is not blocked
        let l = locks.clone();
        let waiter = tokio::spawn(async move {
            let _g = l.lock("alice").await;
            tokio::time::Instant::now()
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        let released = tokio::time::Instant::now();
        drop(first);
        assert!(waiter.await.unwrap() >= released);
        drop(other);
        assert!(locks.is_empty());
    }
}
