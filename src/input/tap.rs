//! An input hashed (SHA-256, for the provenance record: `cmd::Hashes`) from the bytes its parse
//! reads anyway, so that a ledger is read from the disk once for both instead of twice (each read of
//! a 1M-household ledger, 168 MB, costs the kernel some 0.03 s of copying). The bytes are hashed
//! by the reader, as soon as they are read (while they are in the cache), not handed to another
//! thread: handing its 64 KiB pieces to the hashing thread (buffers passed back and forth, no copy)
//! made 8,000–10,000 context switches in a 1M run instead of 600–2,000, and saved no CPU time.
//!
//! The hashing thread offers the file ([`offer`]) and waits; the first
//! [`super::source::open`] of that path takes the offer ([`take`]) and, for CSV text, reads the
//! file through a [`Tap`], which hashes each piece it reads (before decoding). When the reader
//! reaches the end, stops early (an error, a workbook, a reader dropped), or the hashes are wanted
//! before it reached the end ([`close`]), the hashing thread takes the hash so far and reads on
//! by itself from where the reader stopped: the hash is of the file's bytes in order, whatever
//! the parse did.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The hash of the first `size` bytes of a file, and whether the reader may still add to it.
#[derive(Default)]
pub struct Hashed {
    pub hash: sha2::Sha256,
    pub size: u64,
    /// Set when the reader is done (or may add no more): the hashing thread goes on.
    done: bool,
}

/// An offer's state, shared by the reader and the hashing thread.
#[derive(Default)]
pub struct Shared {
    state: Mutex<Hashed>,
    changed: Condvar,
}

pub type Slot = Arc<Shared>;

impl Shared {
    /// No more bytes from the reader.
    fn finish(&self) {
        lock(&self.state).done = true;
        self.changed.notify_all();
    }

    /// Wait until the reader is done (or the offer closed), then the hash of the bytes it read.
    pub fn wait(&self) -> (sha2::Sha256, u64) {
        let mut s = lock(&self.state);
        while !s.done {
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        (std::mem::take(&mut s.hash), std::mem::take(&mut s.size))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The reader's side of an offer; dropped, it lets the hashing thread go on.
pub struct Feed(Slot);

impl Drop for Feed {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// Offers not taken yet, by path.
static OFFERS: Mutex<Vec<(PathBuf, Feed)>> = Mutex::new(Vec::new());

/// Offer to hash `path` from the bytes its next reader reads: the state the hashing thread
/// [waits](Shared::wait) on, which [`close`] ends.
pub fn offer(path: &Path) -> Slot {
    let slot = Slot::default();
    lock(&OFFERS).push((path.to_path_buf(), Feed(slot.clone())));
    slot
}

/// The offer of `path`, if a hashing thread made one that no reader has taken.
pub fn take(path: &Path) -> Option<Feed> {
    let mut offers = lock(&OFFERS);
    let i = offers.iter().position(|(p, _)| p == path)?;
    Some(offers.swap_remove(i).1)
}

/// The hashes are wanted now: the hashing thread goes on from what the reader hashed (it adds no
/// more); an offer not taken is withdrawn.
pub fn close(slot: &Slot) {
    slot.finish();
    let withdrawn: Vec<(PathBuf, Feed)> = {
        let mut offers = lock(&OFFERS);
        let (gone, kept) = std::mem::take(&mut *offers).into_iter().partition(|(_, f)| Arc::ptr_eq(&f.0, slot));
        *offers = kept;
        gone
    };
    // (Dropped outside the lock.)
    drop(withdrawn);
}

/// A reader that hashes what it reads into a [`Feed`], until the end or until the offer is closed.
pub struct Tap<R> {
    inner: R,
    feed: Option<Feed>,
}

impl<R: Read> Tap<R> {
    pub fn new(inner: R, feed: Feed) -> Tap<R> {
        Tap { inner, feed: Some(feed) }
    }
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        if let Some(feed) = &self.feed {
            let mut s = lock(&feed.0.state);
            if s.done {
                // Closed: the hashing thread reads the rest itself.
                drop(s);
                self.feed = None;
            } else if n == 0 {
                // The end: the hashing thread has every byte.
                drop(s);
                self.feed = None;
            } else {
                use sha2::Digest;
                s.hash.update(&out[..n]);
                s.size += n as u64;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    /// What the hashing thread does: the reader's hash, then the rest of the file read by itself.
    fn hashed(path: &Path, slot: &Slot) -> (String, u64) {
        use std::io::{Seek, SeekFrom};
        let (mut hash, size) = slot.wait();
        let mut f = std::fs::File::open(path).unwrap();
        f.seek(SeekFrom::Start(size)).unwrap();
        let mut rest = Vec::new();
        f.read_to_end(&mut rest).unwrap();
        hash.update(&rest);
        (crate::value::hex(&hash.finalize()), size)
    }

    #[test]
    fn a_file_read_through_a_tap_is_hashed_whole_whatever_the_reader_does() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0, 1, 1000, 1 << 16, 700_001] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let path = dir.path().join(format!("in{len}.bin"));
            std::fs::write(&path, &bytes).unwrap();
            let whole = crate::value::hex(&sha2::Sha256::digest(&bytes));
            // Read to the end (in odd pieces), read in part and dropped or closed, or never taken.
            for stop in [None, Some(0), Some(1), Some(len / 2)].into_iter().filter(|s| s.is_none_or(|n| n <= len)) {
                let slot = offer(&path);
                let hasher = std::thread::spawn({
                    let (path, slot) = (path.clone(), slot.clone());
                    move || hashed(&path, &slot)
                });
                let mut tap = io::BufReader::with_capacity(
                    999,
                    Tap::new(std::fs::File::open(&path).unwrap(), take(&path).unwrap()),
                );
                match stop {
                    None => {
                        let mut read = Vec::new();
                        tap.read_to_end(&mut read).unwrap();
                        assert_eq!(read, bytes);
                    }
                    Some(n) => {
                        let mut part = vec![0; n];
                        tap.read_exact(&mut part).unwrap();
                        assert_eq!(part, bytes[..n]);
                        if n == 1 {
                            // The hashes wanted with the reader still open: it hashes no more.
                            close(&slot);
                            tap.read_to_end(&mut Vec::new()).unwrap();
                        }
                    }
                }
                drop(tap);
                let (got, size) = hasher.join().unwrap();
                assert_eq!(got, whole, "{len} bytes, stop {stop:?}");
                if stop.is_none() {
                    assert_eq!(size, len as u64, "{len} bytes: all of them hashed by the reader");
                }
            }
            // An offer no reader takes is withdrawn when the hashes are wanted.
            let slot = offer(&path);
            close(&slot);
            assert!(take(&path).is_none());
            assert_eq!(hashed(&path, &slot), (whole, 0));
        }
    }
}
