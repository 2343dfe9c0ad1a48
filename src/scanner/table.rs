//! Service names and what scan keeps under them.
//!
//! A `Name` is shared, not copied: the listing makes one per service and
//! every table, event and action that names the service holds the same
//! allocation. A `Table` is kept sorted by name in vectors: for the tens
//! to thousands of services one scan holds it takes a third of a
//! BTreeMap's memory (whose nodes a sorted fill leaves half empty) and
//! much less code.

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::convert::Infallible;

/// A name in DIR: any bytes but '/' and NUL.
pub type Name = Rc<[u8]>;

/// Values by service name, in name order. The names are a vector of
/// their own: searching them is one piece of code for every table, not
/// one per kind of value.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Table<V> {
    names: Vec<Name>,
    /// `values[i]` is the value of `names[i]`.
    values: Vec<V>,
}

/// The place of `name` in `names`, or where it would go.
fn find(names: &[Name], name: &[u8]) -> Result<usize, usize> {
    names.binary_search_by(|n| (**n).cmp(name))
}

impl<V> Table<V> {
    /// An empty table.
    pub const fn new() -> Table<V> {
        Table {
            names: Vec::new(),
            values: Vec::new(),
        }
    }

    /// An empty table with room for `n` rows.
    pub fn with_capacity(n: usize) -> Table<V> {
        Table {
            names: Vec::with_capacity(n),
            values: Vec::with_capacity(n),
        }
    }

    /// The place of `name` in name order, if it has a row: `values` yields
    /// its value at that place.
    pub fn index_of(&self, name: &[u8]) -> Option<usize> {
        find(&self.names, name).ok()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn contains(&self, name: &[u8]) -> bool {
        find(&self.names, name).is_ok()
    }

    pub fn get(&self, name: &[u8]) -> Option<&V> {
        find(&self.names, name).ok().map(|i| &self.values[i])
    }

    pub fn get_mut(&mut self, name: &[u8]) -> Option<&mut V> {
        find(&self.names, name).ok().map(|i| &mut self.values[i])
    }

    /// The value of `name`, made by `new` (under a share of `name`) when
    /// there is none.
    pub fn get_or_insert_with(&mut self, name: &Name, new: impl FnOnce() -> V) -> &mut V {
        match self.try_get_or_insert_with(name, || Ok::<V, Infallible>(new())) {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// The value of `name`, made by `new` when there is none; `new`'s
    /// error, and no row, when it fails.
    pub fn try_get_or_insert_with<E>(
        &mut self,
        name: &Name,
        new: impl FnOnce() -> Result<V, E>,
    ) -> Result<&mut V, E> {
        let i = match find(&self.names, name) {
            Ok(i) => i,
            Err(i) => {
                self.values.insert(i, new()?);
                self.names.insert(i, name.clone());
                i
            }
        };
        Ok(&mut self.values[i])
    }

    /// Sets the value of `name`.
    pub fn insert(&mut self, name: &Name, v: V) {
        match find(&self.names, name) {
            Ok(i) => self.values[i] = v,
            Err(i) => {
                self.names.insert(i, name.clone());
                self.values.insert(i, v);
            }
        }
    }

    /// Takes `name` out; its value, if it had one.
    pub fn remove(&mut self, name: &[u8]) -> Option<V> {
        let i = find(&self.names, name).ok()?;
        self.names.remove(i);
        Some(self.values.remove(i))
    }

    /// Keeps the rows `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&Name, &mut V) -> bool) {
        // Rows are dropped seldom (a service gone, a problem solved), so
        // one at a time.
        let mut i = 0;
        while i < self.names.len() {
            if keep(&self.names[i], &mut self.values[i]) {
                i += 1;
            } else {
                self.names.remove(i);
                self.values.remove(i);
            }
        }
    }

    /// Makes room for `n` more rows at once, exactly: a cold start of N
    /// services must not leave the half-used blocks of N/2, N/4... behind.
    pub fn reserve_exact(&mut self, n: usize) {
        self.names.reserve_exact(n);
        self.values.reserve_exact(n);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Name, &V)> {
        self.names.iter().zip(&self.values)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Name, &mut V)> {
        self.names.iter().zip(&mut self.values)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.values.iter()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.values.iter_mut()
    }
}

impl<V> Default for Table<V> {
    fn default() -> Table<V> {
        Table::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::from(s.as_bytes())
    }

    #[test]
    fn rows_stay_in_name_order_whatever_the_insertion_order() {
        let mut t = Table::new();
        for (s, v) in [("web", 1), ("db", 2), ("zz", 3), ("a", 4)] {
            t.insert(&name(s), v);
        }
        t.insert(&name("db"), 5);
        let rows: Vec<(&[u8], i32)> = t.iter().map(|(n, v)| (&**n, *v)).collect();
        assert_eq!(rows, [(&b"a"[..], 4), (b"db", 5), (b"web", 1), (b"zz", 3)]);
        assert_eq!(t.get(b"web"), Some(&1));
        assert_eq!(t.remove(b"web"), Some(1));
        assert_eq!(t.remove(b"web"), None);
        assert!(!t.contains(b"web") && t.len() == 3);
    }

    #[test]
    fn a_row_shares_the_name_it_was_given() {
        let mut t = Table::new();
        let web = name("web");
        *t.get_or_insert_with(&web, || 0) += 1;
        *t.get_or_insert_with(&name("web"), || 0) += 1;
        assert_eq!(t.get(b"web"), Some(&2));
        assert!(Rc::ptr_eq(t.iter().next().unwrap().0, &web));
    }
}
