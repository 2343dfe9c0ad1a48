//! Service names and what scan keeps under them.
//!
//! A `Name` is shared, not copied: the listing makes one per service and
//! every table, event and action that names the service holds the same
//! allocation. A `Table` is a vector kept sorted by name: for the tens to
//! thousands of services one scan holds it takes a third of a BTreeMap's
//! memory (whose nodes a sorted fill leaves half empty) and much less code.

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::convert::Infallible;

/// A name in DIR: any bytes but '/' and NUL.
pub type Name = Rc<[u8]>;

/// Values by service name, in name order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Table<V> {
    rows: Vec<(Name, V)>,
}

impl<V> Table<V> {
    /// An empty table.
    pub const fn new() -> Table<V> {
        Table { rows: Vec::new() }
    }

    /// An empty table with room for `n` rows.
    pub fn with_capacity(n: usize) -> Table<V> {
        Table {
            rows: Vec::with_capacity(n),
        }
    }

    /// The row of `name`, or where it would go.
    fn find(&self, name: &[u8]) -> Result<usize, usize> {
        self.rows.binary_search_by(|(n, _)| (**n).cmp(name))
    }

    /// The place of `name` in name order, if it has a row: `values` yields
    /// its value at that place.
    pub fn index_of(&self, name: &[u8]) -> Option<usize> {
        self.find(name).ok()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn contains(&self, name: &[u8]) -> bool {
        self.find(name).is_ok()
    }

    pub fn get(&self, name: &[u8]) -> Option<&V> {
        self.find(name).ok().map(|i| &self.rows[i].1)
    }

    pub fn get_mut(&mut self, name: &[u8]) -> Option<&mut V> {
        self.find(name).ok().map(|i| &mut self.rows[i].1)
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
        let i = match self.find(name) {
            Ok(i) => i,
            Err(i) => {
                self.rows.insert(i, (name.clone(), new()?));
                i
            }
        };
        Ok(&mut self.rows[i].1)
    }

    /// Sets the value of `name`.
    pub fn insert(&mut self, name: &Name, v: V) {
        match self.find(name) {
            Ok(i) => self.rows[i].1 = v,
            Err(i) => self.rows.insert(i, (name.clone(), v)),
        }
    }

    /// Takes `name` out; its value, if it had one.
    pub fn remove(&mut self, name: &[u8]) -> Option<V> {
        self.find(name).ok().map(|i| self.rows.remove(i).1)
    }

    /// Keeps the rows `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&Name, &mut V) -> bool) {
        self.rows.retain_mut(|(n, v)| keep(n, v));
    }

    /// Makes room for `n` more rows at once, exactly: a cold start of N
    /// services must not leave the half-used blocks of N/2, N/4... behind.
    pub fn reserve_exact(&mut self, n: usize) {
        self.rows.reserve_exact(n);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Name, &V)> {
        self.rows.iter().map(|(n, v)| (n, v))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Name, &mut V)> {
        self.rows.iter_mut().map(|(n, v)| (&*n, v))
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.rows.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.rows.iter_mut().map(|(_, v)| v)
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
