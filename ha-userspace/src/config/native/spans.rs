//! Where each key and list element of a TOML file is, so that problems found
//! by `validate` after deserialization still get a `PATH:LINE`.
//!
//! The file is read a second time into a tree of [`Spanned`] nodes that keeps
//! only positions; the values themselves come from the typed [`Config`] read.
//!
//! [`Config`]: crate::config::Config

use std::{collections::BTreeMap, fmt, path::Path};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use crate::config::{
    error::Loc,
    validate::{Field, Locate, Site},
};

/// The shape of a TOML document with the byte span of every value.
enum Node {
    Table(BTreeMap<String, Spanned<Node>>),
    Array(Vec<Spanned<Node>>),
    Leaf,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut table = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: Spanned<Node> = map.next_value()?;
            table.insert(key, value);
        }
        Ok(Node::Table(table))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
}

impl Node {
    fn key(&self, key: &str) -> Option<&Spanned<Node>> {
        match self {
            Node::Table(t) => t.get(key),
            _ => None,
        }
    }

    fn item(&self, index: usize) -> Option<&Spanned<Node>> {
        match self {
            Node::Array(a) => a.get(index),
            _ => None,
        }
    }
}

/// Byte offset → line number for one text.
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { starts }
    }

    /// The 1-based line holding byte `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

/// Locates validation sites in a TOML file.
pub(crate) struct TomlMap<'a> {
    file: &'a Path,
    lines: Lines,
    root: Option<Spanned<Node>>,
}

impl<'a> TomlMap<'a> {
    /// Reads the positions of `text`. If that fails (it cannot once the typed
    /// read succeeded) every site maps to the whole file.
    pub(crate) fn new(file: &'a Path, text: &str) -> Self {
        TomlMap {
            file,
            lines: Lines::new(text),
            root: toml::from_str(text).ok(),
        }
    }

    fn instance(&self, index: usize) -> Option<&Spanned<Node>> {
        self.root
            .as_ref()?
            .get_ref()
            .key("instances")?
            .get_ref()
            .item(index)
    }

    /// Whether `instances[index]` spells out `key`.
    pub(crate) fn instance_has(&self, index: usize, key: &str) -> bool {
        self.instance(index)
            .is_some_and(|i| i.get_ref().key(key).is_some())
    }

    fn loc(&self, node: Option<&Spanned<Node>>) -> Loc {
        let line = node.map_or(0, |n| self.lines.line_of(n.span().start));
        Loc::new(self.file, line)
    }
}

/// The TOML key of a field, and the element index for list fields.
fn key_of(field: Field) -> Option<(&'static str, Option<usize>)> {
    Some(match field {
        Field::Whole => return None,
        Field::Name => ("name", None),
        Field::Interface => ("interface", None),
        Field::Vrid => ("vrid", None),
        Field::Version => ("version", None),
        Field::Priority => ("priority", None),
        Field::AdvertInt => ("advert_int_cs", None),
        Field::Preempt => ("preempt", None),
        Field::PreemptDelay => ("preempt_delay_ms", None),
        Field::InitialState => ("initial_state_master", None),
        Field::Auth => ("auth", None),
        Field::Vip(i) => ("vips", Some(i)),
        Field::ExcludedVip(i) => ("excluded_vips", Some(i)),
        Field::UnicastSrc => ("unicast_src", None),
        Field::UnicastPeer(i) => ("unicast_peers", Some(i)),
    })
}

impl Locate for TomlMap<'_> {
    fn locate(&self, site: Site) -> Loc {
        let Site::Instance { index, field } = site else {
            return Loc::new(self.file, 0);
        };
        let Some(inst) = self.instance(index) else {
            return Loc::new(self.file, 0);
        };
        let node = key_of(field).and_then(|(key, item)| {
            let value = inst.get_ref().key(key)?;
            match item {
                Some(i) => value.get_ref().item(i).or(Some(value)),
                None => Some(value),
            }
        });
        self.loc(node.or(Some(inst)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers() {
        let l = Lines::new("a\nbb\n\nc");
        assert_eq!(l.line_of(0), 1);
        assert_eq!(l.line_of(1), 1);
        assert_eq!(l.line_of(2), 2);
        assert_eq!(l.line_of(5), 3);
        assert_eq!(l.line_of(6), 4);
    }

    #[test]
    fn locates_keys_elements_and_headers() {
        let text = "[[instances]]\nname = \"a\"\nvrid = 1\nvips = [\n  \"198.18.0.1\",\n  \"198.18.0.2\",\n]\n\n[[instances]]\nname = \"b\"\n";
        let map = TomlMap::new(Path::new("x.toml"), text);
        let at = |index, field| map.locate(Site::Instance { index, field }).line;
        assert_eq!(at(0, Field::Vrid), 3);
        assert_eq!(at(0, Field::Vip(1)), 6);
        assert_eq!(at(0, Field::Priority), 1);
        assert_eq!(at(1, Field::Name), 10);
        assert_eq!(at(1, Field::Whole), 9);
        assert!(map.instance_has(0, "vrid"));
        assert!(!map.instance_has(1, "vrid"));
    }
}
