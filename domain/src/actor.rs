//! Who issues a command or asks for a view. Recorded with every event.

use crate::values::Handle;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Who issued a command or a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// An administrator, by account name.
    Admin(String),
    /// A member, by handle.
    Member(Handle),
    /// A named system process (the demo seeder, a migration).
    System(String),
    /// Nobody has authenticated (may sign up and read the job board).
    Anonymous,
}

impl Actor {
    /// An admin actor.
    pub fn admin(name: impl Into<String>) -> Self {
        Self::Admin(name.into())
    }

    /// A member actor.
    ///
    /// # Panics
    /// If `handle` is not a valid handle (use in tests and wiring only).
    pub fn member(handle: &str) -> Self {
        Self::Member(Handle::parse(handle).expect("a valid handle"))
    }

    /// Whether this actor has administrative rights (admins and system processes).
    pub fn is_privileged(&self) -> bool {
        matches!(self, Self::Admin(_) | Self::System(_))
    }

    /// The member acting, if a member is.
    pub fn as_member(&self) -> Option<&Handle> {
        match self {
            Self::Member(h) => Some(h),
            _ => None,
        }
    }

    /// Whether this actor is the member `h`.
    pub fn is(&self, h: &Handle) -> bool {
        self.as_member() == Some(h)
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Admin(n) => write!(f, "admin:{n}"),
            Self::Member(h) => write!(f, "member:{h}"),
            Self::System(n) => write!(f, "system:{n}"),
            Self::Anonymous => f.write_str("anonymous"),
        }
    }
}

impl FromStr for Actor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("admin", n)) => Ok(Self::Admin(n.to_owned())),
            Some(("system", n)) => Ok(Self::System(n.to_owned())),
            Some(("member", h)) => Handle::parse(h)
                .map(Self::Member)
                .map_err(|e| e.to_string()),
            None if s == "anonymous" => Ok(Self::Anonymous),
            _ => Err(format!("not an actor: {s:?}")),
        }
    }
}

impl Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_round_trip_through_text() {
        for a in [
            Actor::admin("root"),
            Actor::member("alice"),
            Actor::System("seed".into()),
            Actor::Anonymous,
        ] {
            assert_eq!(a.to_string().parse::<Actor>().unwrap(), a);
        }
        assert!("member:Not Valid".parse::<Actor>().is_err());
        assert!("nobody".parse::<Actor>().is_err());
    }
}
