//! The first line of every user a write row targets, for the duplicate check. A million rows must fit
//! in little memory (docs/contract.md §9), so keys are 64-bit hashes, not strings, and a slot is 12 bytes.

/// An open-addressing table from key hash to the first line that used it.
pub struct FirstLines {
    /// Hash (low, high 32 bits) and line, side by side so that a probe touches one cache line. A zero
    /// hash marks an empty slot; lines past `u32::MAX` (a 4-billion-line file) are kept as `u32::MAX`.
    slots: Vec<[u32; 3]>,
    len: usize,
}

impl Default for FirstLines {
    fn default() -> Self {
        FirstLines::with_slots(1024)
    }
}

impl FirstLines {
    fn with_slots(slots: usize) -> Self {
        FirstLines {
            slots: vec![[0; 3]; slots],
            len: 0,
        }
    }

    /// Remembers `line` for `hash` and returns `None`, or returns the line remembered before.
    pub fn first_or_insert(&mut self, hash: u64, line: u64) -> Option<u64> {
        // Keep the load under 3/4 so that probe runs stay short.
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let hash = hash.max(1);
        let i = self.find(hash);
        let slot = &mut self.slots[i];
        if key(slot) == hash {
            return Some(u64::from(slot[2]));
        }
        *slot = [
            hash as u32,
            (hash >> 32) as u32,
            u32::try_from(line).unwrap_or(u32::MAX),
        ];
        self.len += 1;
        None
    }

    /// The slot holding `hash`, or the empty slot where it goes.
    fn find(&self, hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        // The hashes come from SipHash: their low bits are as good as any.
        let mut i = hash as usize & mask;
        loop {
            let found = key(&self.slots[i]);
            if found == 0 || found == hash {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let old = std::mem::replace(self, FirstLines::with_slots(self.slots.len() * 2));
        for slot in old.slots {
            let hash = key(&slot);
            if hash != 0 {
                let i = self.find(hash);
                self.slots[i] = slot;
                self.len += 1;
            }
        }
    }
}

fn key(slot: &[u32; 3]) -> u64 {
    u64::from(slot[0]) | u64::from(slot[1]) << 32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_first_line_of_each_key_across_growth() {
        let mut seen = FirstLines::default();
        for key in 0..5000u64 {
            // Multiples of 1024 collide in the first table: probing must cope.
            assert_eq!(seen.first_or_insert(key * 1024 + 7, key + 2), None);
        }
        for key in 0..5000u64 {
            assert_eq!(seen.first_or_insert(key * 1024 + 7, 99_999), Some(key + 2));
        }
        assert_eq!(seen.len, 5000);
        assert_eq!(seen.first_or_insert(u64::MAX, 1 << 40), None);
        assert_eq!(seen.first_or_insert(u64::MAX, 3), Some(u64::from(u32::MAX)));
    }
}
