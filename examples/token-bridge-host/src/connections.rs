//! The open connections, and which one to close when a new one needs room.
//!
//! The secret arrives after the connection, so a cap on connections cannot refuse the ones
//! without it up front. Instead, at the cap, a new connection closes one that has no claim to stay:
//! first the oldest that never sent the secret, then the oldest idle one that did. A connection
//! whose request is waiting for a token keeps its place. So processes without the secret, however
//! many connections they open or keep alive, take room only from each other and from idle
//! connections, and a client that sends the secret still gets through. The newest connections
//! are closed last, so a client's connection lives long enough to send its request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a connection's requests have shown, as its task records it.
#[derive(Default)]
pub(crate) struct ConnectionState {
    showed_secret: AtomicBool,
    waiting_for_token: AtomicBool,
}

impl ConnectionState {
    /// A request on it carried the secret.
    pub fn showed_secret(&self) {
        self.showed_secret.store(true, Ordering::Relaxed);
    }

    /// Marks a token request waiting for the worker until the guard is dropped (answered, or the
    /// client gone).
    pub fn waiting_for_token(&self) -> Waiting<'_> {
        self.waiting_for_token.store(true, Ordering::Relaxed);
        Waiting(&self.waiting_for_token)
    }

    /// Whether the connection may be closed for a new one: never while it waits for a token,
    /// and once it showed the secret only if `secret_too`.
    fn may_make_room(&self, secret_too: bool) -> bool {
        let waiting = self.waiting_for_token.load(Ordering::Relaxed);
        !waiting && (secret_too || !self.showed_secret.load(Ordering::Relaxed))
    }
}

pub(crate) struct Waiting<'a>(&'a AtomicBool);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

struct Open {
    state: Arc<ConnectionState>,
    /// Dropped to close the connection.
    _keep: tokio::sync::oneshot::Sender<()>,
}

/// The open connections, by their number: the order they were admitted in.
pub(crate) struct Connections {
    max: usize,
    admitted: u64,
    open: BTreeMap<u64, Open>,
}

/// A new connection's number and record, and what closes it: `closed` resolves when the
/// connection has been chosen to make room.
pub(crate) struct Admitted {
    pub number: u64,
    pub state: Arc<ConnectionState>,
    pub closed: tokio::sync::oneshot::Receiver<()>,
}

impl Connections {
    pub fn new(max: usize) -> Connections {
        Connections {
            max,
            admitted: 0,
            open: BTreeMap::new(),
        }
    }

    /// Records a new connection, closing another to make room if needed; `None`: every
    /// connection is waiting for a token, and the new one is not to be served.
    pub fn admit(&mut self) -> Option<Admitted> {
        if self.open.len() >= self.max {
            let oldest = |secret_too: bool| {
                self.open
                    .iter()
                    .find(|(_, open)| open.state.may_make_room(secret_too))
                    .map(|(&number, _)| number)
            };
            let leaving = oldest(false).or_else(|| oldest(true))?;
            // Dropping its sender wakes the connection's task, which closes it.
            self.open.remove(&leaving);
        }
        let (keep, closed) = tokio::sync::oneshot::channel();
        let state = Arc::new(ConnectionState::default());
        self.admitted += 1;
        let number = self.admitted;
        self.open.insert(
            number,
            Open {
                state: state.clone(),
                _keep: keep,
            },
        );
        Some(Admitted {
            number,
            state,
            closed,
        })
    }

    /// The connection `number` ended. (A connection task that panicked never says so; its record
    /// is then among the first chosen to make room, since nothing waits on it.)
    pub fn ended(&mut self, number: u64) {
        self.open.remove(&number);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot::error::TryRecvError;

    fn closed(admitted: &mut Admitted) -> bool {
        admitted.closed.try_recv() == Err(TryRecvError::Closed)
    }

    fn admit_all(open: &mut Connections, count: usize) -> Vec<Admitted> {
        (0..count).map(|_| open.admit().unwrap()).collect()
    }

    #[test]
    fn below_the_cap_nothing_is_closed() {
        let mut open = Connections::new(3);
        let mut all = admit_all(&mut open, 3);
        assert_eq!(open.open.len(), 3);
        assert!(all.iter_mut().all(|admitted| !closed(admitted)));
        open.ended(all[1].number);
        assert_eq!(open.open.len(), 2);
    }

    #[test]
    fn at_the_cap_the_oldest_without_the_secret_makes_room_then_the_oldest_idle() {
        let mut open = Connections::new(4);
        let mut all = admit_all(&mut open, 4);
        // 0 showed the secret and is idle; 1 waits for a token; 2 and 3 never sent the secret.
        all[0].state.showed_secret();
        all[1].state.showed_secret();
        let waits = all[1].state.clone();
        let waiting = waits.waiting_for_token();

        all.push(open.admit().unwrap());
        assert!(
            closed(&mut all[2]),
            "the oldest without the secret goes first"
        );
        all.push(open.admit().unwrap());
        assert!(closed(&mut all[3]));
        all[4].state.showed_secret();
        all[5].state.showed_secret();
        // Every connection has shown the secret: the oldest idle one goes.
        all.push(open.admit().unwrap());
        assert!(closed(&mut all[0]));
        assert!(
            !closed(&mut all[1]),
            "a connection waiting for a token stays"
        );
        assert!(!closed(&mut all[4]) && !closed(&mut all[5]));
        assert_eq!(open.open.len(), 4);
        drop(waiting);
    }

    #[test]
    fn when_every_connection_waits_for_a_token_none_is_closed() {
        let mut open = Connections::new(2);
        let mut all = admit_all(&mut open, 2);
        let states: Vec<_> = all.iter().map(|admitted| admitted.state.clone()).collect();
        let waiting: Vec<_> = states
            .iter()
            .map(|state| state.waiting_for_token())
            .collect();
        assert!(open.admit().is_none());
        assert!(all.iter_mut().all(|admitted| !closed(admitted)));
        // A connection that ended frees its place.
        open.ended(all[0].number);
        assert!(open.admit().is_some());
        drop(waiting);
    }

    #[test]
    fn a_token_answered_makes_the_connection_idle_again() {
        let mut open = Connections::new(1);
        let mut only = open.admit().unwrap();
        only.state.showed_secret();
        drop(only.state.waiting_for_token());
        assert!(open.admit().is_some());
        assert!(closed(&mut only));
    }
}
