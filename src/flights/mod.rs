//! Token requests in flight, so that get-token calls running at once on one instance (the WASI
//! 0.3 build, where get-token is async) make one request per token: a call that finds the token
//! it needs being requested waits for that request and takes its answer. Plain Rust futures and
//! wakers, no I/O: whichever runtime polls the calls wakes the waiters.
//!
//! In the WASI 0.2 build a call runs alone on its instance, so it never finds a flight.

use crate::prelude::*;

use crate::cache::CacheKey;
use crate::error::{AccessToken, CredentialError};
use alloc::rc::Rc;
use core::cell::RefCell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

/// The requests in flight, one per cache key at most.
#[derive(Default)]
pub struct Flights(RefCell<Vec<(CacheKey, Rc<RefCell<Flight>>)>>);

/// One request's answer once it has landed, and the calls waiting for it.
#[derive(Default)]
struct Flight {
    landed: Option<Landing>,
    waiting: Vec<Waker>,
}

/// How a flight ended.
#[derive(Clone)]
pub enum Landing {
    /// The answer the requesting call returned, for every waiter to return too.
    Answer(Result<AccessToken, CredentialError>),
    /// The requesting call was dropped before its answer (its caller cancelled it): a waiter asks
    /// again itself.
    Abandoned,
}

impl Flights {
    /// The flight requesting the token of `key`'s parts, to wait for, if there is one.
    pub fn find(&self, tenant_id: Option<&str>, scopes: &[String], cae: bool) -> Option<Join> {
        let flights = self.0.borrow();
        let (_, flight) = flights
            .iter()
            .find(|(key, _)| key.is_for(tenant_id, scopes, cae))?;
        Some(Join(flight.clone()))
    }

    /// Records that `key`'s token is being requested; the flight ends when the result is landed
    /// or dropped.
    pub fn take_off(&self, key: CacheKey) -> TakeOff<'_> {
        let flight = Rc::new(RefCell::new(Flight::default()));
        self.0.borrow_mut().push((key, flight.clone()));
        TakeOff {
            flights: self,
            flight,
        }
    }

    fn end(&self, flight: &Rc<RefCell<Flight>>, landing: Landing) {
        self.0
            .borrow_mut()
            .retain(|(_, other)| !Rc::ptr_eq(other, flight));
        let waiting = {
            let mut flight = flight.borrow_mut();
            flight.landed = Some(landing);
            core::mem::take(&mut flight.waiting)
        };
        for waker in waiting {
            waker.wake();
        }
    }
}

// By hand: a landed answer holds a token.
impl fmt::Debug for Flights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flights")
            .field("in_flight", &self.0.borrow().len())
            .finish()
    }
}

/// A flight being flown by the call holding it.
pub struct TakeOff<'a> {
    flights: &'a Flights,
    flight: Rc<RefCell<Flight>>,
}

impl TakeOff<'_> {
    /// Ends the flight with the requesting call's result, which every waiter gets.
    pub fn land(self, result: &Result<AccessToken, CredentialError>) {
        self.flights
            .end(&self.flight, Landing::Answer(result.clone()));
    }
}

impl Drop for TakeOff<'_> {
    /// A flight dropped unlanded (its call was cancelled) still ends, so no waiter waits forever.
    fn drop(&mut self) {
        if self.flight.borrow().landed.is_none() {
            self.flights.end(&self.flight, Landing::Abandoned);
        }
    }
}

/// Waits for a flight to land.
pub struct Join(Rc<RefCell<Flight>>);

impl Future for Join {
    type Output = Landing;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Landing> {
        let mut flight = self.0.borrow_mut();
        if let Some(landing) = &flight.landed {
            return Poll::Ready(landing.clone());
        }
        if !flight
            .waiting
            .iter()
            .any(|waker| waker.will_wake(context.waker()))
        {
            flight.waiting.push(context.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests;
