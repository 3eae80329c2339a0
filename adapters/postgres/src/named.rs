//! Statements written with named parameters (`:stream`) and bound by name, so that a long
//! statement's parameters cannot be bound out of order: sqlx binds by position ($1, $2...),
//! and [`Named`] turns the names into positions once.

use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{Encode, Postgres, Type};
use tally_ports::driven::StoreError;

/// A statement's text with its named parameters replaced by positions, and the names in
/// position order.
#[derive(Debug)]
pub(crate) struct Named {
    sql: String,
    names: Vec<String>,
}

type Binder<'q> = Box<
    dyn FnOnce(Query<'q, Postgres, PgArguments>) -> Query<'q, Postgres, PgArguments> + Send + 'q,
>;

/// Values by name, for [`Named::query`].
#[derive(Default)]
pub(crate) struct Args<'q> {
    values: Vec<(&'static str, Binder<'q>)>,
}

impl<'q> Args<'q> {
    /// Sets the parameter `name`.
    #[must_use]
    pub(crate) fn set<T>(mut self, name: &'static str, value: T) -> Self
    where
        T: 'q + Send + Encode<'q, Postgres> + Type<Postgres>,
    {
        self.values.push((
            name,
            Box::new(move |q: Query<'q, Postgres, PgArguments>| q.bind(value)),
        ));
        self
    }
}

impl Named {
    /// Parses `text`: `:name` (a lowercase identifier) is a parameter, `::` a cast; nothing in
    /// a string literal counts.
    pub(crate) fn new(text: &str) -> Self {
        let (mut sql, mut names) = (String::with_capacity(text.len()), Vec::<String>::new());
        let mut chars = text.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            if c == '\'' {
                quoted = !quoted;
                sql.push(c);
                continue;
            }
            if quoted || c != ':' {
                sql.push(c);
                continue;
            }
            match chars.peek() {
                Some(':') => {
                    sql.push_str("::");
                    chars.next();
                }
                Some(n) if n.is_ascii_lowercase() || *n == '_' => {
                    let mut name = String::new();
                    while let Some(&n) = chars.peek() {
                        if n.is_ascii_lowercase() || n.is_ascii_digit() || n == '_' {
                            name.push(n);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    let i = match names.iter().position(|m| *m == name) {
                        Some(i) => i,
                        None => {
                            names.push(name);
                            names.len() - 1
                        }
                    };
                    sql.push_str(&format!("${}", i + 1));
                }
                _ => sql.push(c),
            }
        }
        Self { sql, names }
    }

    /// The statement, its parameters bound from `args` in position order.
    ///
    /// # Errors
    /// [`StoreError::Other`] if a parameter has no value or a value no parameter (a bug, which
    /// a test of every statement catches).
    pub(crate) fn query<'q>(
        &'q self,
        mut args: Args<'q>,
    ) -> Result<Query<'q, Postgres, PgArguments>, StoreError> {
        let mut q = sqlx::query(&self.sql);
        for name in &self.names {
            let i = args
                .values
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| StoreError::Other(format!("no value for :{name}")))?;
            let (_, bind) = args.values.swap_remove(i);
            q = bind(q);
        }
        if let Some((extra, _)) = args.values.first() {
            return Err(StoreError::Other(format!("no parameter :{extra}")));
        }
        Ok(q)
    }

    /// The parameters' names, in position order.
    #[cfg(test)]
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_positions_and_casts_and_literals_stay() {
        let n = Named::new("SELECT :a::text, :b, :a, 'x:y', ':c' FROM t WHERE c = :b_2");
        assert_eq!(
            n.sql,
            "SELECT $1::text, $2, $1, 'x:y', ':c' FROM t WHERE c = $3"
        );
        assert_eq!(n.names(), ["a", "b", "b_2"]);
    }

    #[test]
    fn every_parameter_needs_exactly_one_value() {
        let n = Named::new("SELECT :a, :b");
        assert!(n.query(Args::default().set("a", 1i64)).is_err());
        assert!(
            n.query(Args::default().set("a", 1i64).set("b", 2i64).set("c", 3i64))
                .is_err()
        );
        assert!(
            n.query(Args::default().set("b", 2i64).set("a", 1i64))
                .is_ok()
        );
    }
}
