//! "Say it once per stream": remembers which kinds of problem were already reported, so a
//! bad value repeated on every frame gives one warning, and a new stream is told afresh.

/// The kinds of problem already reported in the current stream.
#[derive(Debug)]
pub struct WarnOnce<K> {
    reported: Vec<K>,
}

impl<K> Default for WarnOnce<K> {
    fn default() -> Self {
        Self { reported: Vec::new() }
    }
}

impl<K: PartialEq> WarnOnce<K> {
    /// True the first time `kind` is seen since the last [`WarnOnce::new_stream`]: the
    /// caller reports it then, and stays quiet after.
    pub fn first(&mut self, kind: K) -> bool {
        if self.reported.contains(&kind) {
            return false;
        }
        self.reported.push(kind);
        true
    }

    /// Forgets what was reported: a new stream starts.
    pub fn new_stream(&mut self) {
        self.reported.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_once_per_stream() {
        let mut warned = WarnOnce::default();
        assert!(warned.first(("non-finite", "cam-t")));
        assert!(!warned.first(("non-finite", "cam-t")));
        assert!(warned.first(("non-finite", "betas")));
        assert!(warned.first(("focal", "")));
        assert!(!warned.first(("non-finite", "betas")));
        warned.new_stream();
        assert!(warned.first(("non-finite", "cam-t")));
        assert!(!warned.first(("non-finite", "cam-t")));
    }
}
