//! The recycle bin deleted users move to: kept 30 days, at most 1,000 users, the oldest purged
//! when a new one arrives at a full bin. Listed oldest first.

use serde::Serialize;
use std::collections::VecDeque;

/// How many users the bin holds.
pub const CAPACITY: usize = 1000;
/// How long a user stays in the bin.
pub const KEPT: time::Duration = time::Duration::days(30);

#[derive(Clone, Debug, Serialize)]
pub struct RecycleBin {
    users: VecDeque<Recycled>,
    #[serde(skip)]
    capacity: usize,
    /// The sequence number of the next user in: a listing's `Marker`.
    #[serde(skip)]
    next: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recycled {
    #[serde(skip)]
    pub sequence: u64,
    pub user_principal_name: String,
    pub user_id: String,
    pub display_name: String,
    pub create_date: String,
    pub recycle_date: String,
    /// When the bin purges it.
    pub delete_date: String,
}

impl Default for RecycleBin {
    fn default() -> RecycleBin {
        RecycleBin::with_capacity(CAPACITY)
    }
}

impl RecycleBin {
    pub fn with_capacity(capacity: usize) -> RecycleBin {
        RecycleBin {
            users: VecDeque::new(),
            capacity,
            next: 0,
        }
    }

    /// Puts a deleted user in (its `sequence` is set here); answers the user purged to make room.
    pub fn put(&mut self, mut user: Recycled) -> Option<Recycled> {
        user.sequence = self.next;
        self.next += 1;
        let purged = (self.users.len() >= self.capacity)
            .then(|| self.users.pop_front())
            .flatten();
        self.users.push_back(user);
        purged
    }

    /// The users from sequence number `from` on, oldest first, that `keep` accepts.
    pub fn from<'b>(
        &'b self,
        from: u64,
        keep: impl Fn(&Recycled) -> bool + 'b,
    ) -> impl Iterator<Item = &'b Recycled> + 'b {
        (self.users.iter()).filter(move |u| u.sequence >= from && keep(u))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> Recycled {
        Recycled {
            sequence: 0,
            user_principal_name: format!("{name}@corp.onaliyun.com"),
            user_id: name.to_string(),
            display_name: name.to_string(),
            create_date: String::new(),
            recycle_date: String::new(),
            delete_date: String::new(),
        }
    }

    fn names<'a>(users: impl Iterator<Item = &'a Recycled>) -> Vec<&'a str> {
        users.map(|u| u.user_id.as_str()).collect()
    }

    #[test]
    fn a_full_bin_purges_the_oldest() {
        let mut bin = RecycleBin::with_capacity(2);
        assert_eq!(bin.put(user("a")), None);
        assert_eq!(bin.put(user("b")), None);
        let purged = bin.put(user("c")).unwrap();
        assert_eq!(purged.user_id, "a");
        assert_eq!(names(bin.from(0, |_| true)), ["b", "c"]);
        assert_eq!(names(bin.from(2, |_| true)), ["c"]);
        assert_eq!(names(bin.from(0, |u| u.user_id == "b")), ["b"]);
    }

    #[test]
    fn the_default_bin_holds_a_thousand_users() {
        let mut bin = RecycleBin::default();
        for i in 0..CAPACITY {
            assert_eq!(bin.put(user(&i.to_string())), None);
        }
        assert_eq!(bin.put(user("new")).unwrap().user_id, "0");
        assert_eq!(bin.from(0, |_| true).count(), CAPACITY);
    }
}
