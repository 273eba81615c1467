//! Where each key and list element of a TOML file is, so that problems found
//! by `validate` after deserialization still get a `PATH:LINE`.
//!
//! The file is read a second time into a tree of [`Located`] nodes that keeps
//! only positions; the values themselves come from the typed [`Config`] read.
//!
//! [`Config`]: crate::config::Config

use std::{collections::BTreeMap, fmt, path::Path};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::config::{
    error::Loc,
    model::TrackKind,
    validate::{Field, Locate, Site},
};

/// The shape of a TOML document with the byte span of every value.
enum Node {
    Table(BTreeMap<String, Located>),
    Array(Vec<Located>),
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
            let value: Located = map.next_value()?;
            table.insert(key, value);
        }
        Ok(Node::Table(table))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Located>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
}

/// A node and its byte span. toml gives a span to every value it read,
/// but not to an implicit table (`[[a.b.c]]` defines `a.b` without a
/// header): for that one toml's own `Spanned` fails ("expected a borrowed
/// string"), so spans are taken through the same serde protocol by hand and
/// a map that does not start with them is read as a table without a span.
pub(crate) struct Located {
    span: Option<std::ops::Range<usize>>,
    node: Node,
}

impl Located {
    fn get_ref(&self) -> &Node {
        &self.node
    }

    fn span(&self) -> Option<std::ops::Range<usize>> {
        self.span.clone()
    }
}

/// serde_spanned's private protocol, which toml's deserializer answers.
const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
const SPANNED_START: &str = "$__serde_spanned_private_start";
const SPANNED_END: &str = "$__serde_spanned_private_end";
const SPANNED_VALUE: &str = "$__serde_spanned_private_value";
const SPANNED_FIELDS: &[&str] = &[SPANNED_START, SPANNED_END, SPANNED_VALUE];

impl<'de> Deserialize<'de> for Located {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, LocatedVisitor)
    }
}

struct LocatedVisitor;

impl<'de> Visitor<'de> for LocatedVisitor {
    type Value = Located;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML value with its span")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Located, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Ok(Located {
                span: None,
                node: Node::Table(BTreeMap::new()),
            });
        };
        if first != SPANNED_START {
            // An implicit table: a plain map, its first key already read.
            let mut table = BTreeMap::new();
            table.insert(first, map.next_value::<Located>()?);
            while let Some(key) = map.next_key::<String>()? {
                let value: Located = map.next_value()?;
                table.insert(key, value);
            }
            return Ok(Located {
                span: None,
                node: Node::Table(table),
            });
        }
        let start: usize = map.next_value()?;
        let mut end = start;
        let mut node = Node::Leaf;
        while let Some(key) = map.next_key::<String>()? {
            if key == SPANNED_END {
                end = map.next_value()?;
            } else if key == SPANNED_VALUE {
                node = map.next_value()?;
            } else {
                map.next_value::<de::IgnoredAny>()?;
            }
        }
        Ok(Located {
            span: Some(start..end.max(start)),
            node,
        })
    }

    // Values that are not spanned at all come through as themselves.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Located, E> {
        Ok(Located {
            span: None,
            node: Node::Leaf,
        })
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Located, E> {
        self.visit_bool(false)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Located, E> {
        self.visit_bool(false)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Located, E> {
        self.visit_bool(false)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Located, E> {
        self.visit_bool(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Located, A::Error> {
        Ok(Located {
            span: None,
            node: NodeVisitor.visit_seq(seq)?,
        })
    }
}

impl Node {
    fn key(&self, key: &str) -> Option<&Located> {
        match self {
            Node::Table(t) => t.get(key),
            _ => None,
        }
    }

    fn item(&self, index: usize) -> Option<&Located> {
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
    root: Option<Located>,
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

    fn instance(&self, index: usize) -> Option<&Located> {
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

    fn loc(&self, node: Option<&Located>) -> Loc {
        let line = node
            .and_then(Located::span)
            .map_or(0, |s| self.lines.line_of(s.start));
        Loc::new(self.file, line)
    }
}

/// One step of a path into the document.
enum Seg {
    Key(&'static str),
    Item(usize),
}

/// `a.b.c` as keys.
fn keys(path: &'static str) -> impl Iterator<Item = Seg> {
    path.split('.').map(Seg::Key)
}

/// The TOML path of a field below its instance.
fn field_path(field: Field) -> Vec<Seg> {
    let one = |k| vec![Seg::Key(k)];
    let item = |k, i| vec![Seg::Key(k), Seg::Item(i)];
    match field {
        Field::Whole => vec![],
        Field::Name => one("name"),
        Field::Interface => one("interface"),
        Field::Vrid => one("vrid"),
        Field::Version => one("version"),
        Field::Priority => one("priority"),
        Field::AdvertInt => one("advert_int_cs"),
        Field::Preempt => one("preempt"),
        Field::PreemptDelay => one("preempt_delay_ms"),
        Field::InitialState => one("initial_state_master"),
        Field::Auth => one("auth"),
        Field::Vip(i) => item("vips", i),
        Field::ExcludedVip(i) => item("excluded_vips", i),
        Field::UnicastSrc => one("unicast_src"),
        Field::UnicastPeer(i) => item("unicast_peers", i),
        Field::Track(kind, i) => {
            let list = match kind {
                TrackKind::Check => "checks",
                TrackKind::Interface => "interfaces",
                TrackKind::File => "files",
                TrackKind::Process => "processes",
            };
            vec![Seg::Key("track"), Seg::Key(list), Seg::Item(i)]
        }
        Field::Notify(key) => vec![Seg::Key("notify"), Seg::Key(key)],
        Field::Vmac => one("vmac"),
        Field::VirtualRoute(i) => item("virtual_routes", i),
        Field::VirtualRule(i) => item("virtual_rules", i),
    }
}

/// The TOML path of a site from the document root.
fn site_path(site: Site) -> Vec<Seg> {
    let mut path = Vec::new();
    match site {
        Site::Config => {}
        Site::Instance { index, field } => {
            path.extend([Seg::Key("instances"), Seg::Item(index)]);
            path.extend(field_path(field));
        }
        Site::Global(key) => {
            path.push(Seg::Key("global"));
            path.extend(keys(key));
        }
        Site::Item { list, index, key } => {
            path.extend([Seg::Key(list.key()), Seg::Item(index)]);
            path.extend(key.into_iter().flat_map(keys));
        }
        Site::GroupMember { group, member } => path.extend([
            Seg::Key("sync_groups"),
            Seg::Item(group),
            Seg::Key("instances"),
            Seg::Item(member),
        ]),
        Site::RealServer {
            vs,
            rs,
            checker,
            key,
        } => {
            path.extend([
                Seg::Key("virtual_servers"),
                Seg::Item(vs),
                Seg::Key("real_servers"),
                Seg::Item(rs),
            ]);
            if let Some(c) = checker {
                path.extend([Seg::Key("checkers"), Seg::Item(c)]);
            }
            path.extend(key.into_iter().flat_map(keys));
        }
    }
    path
}

impl Locate for TomlMap<'_> {
    /// The deepest node of the site's path that the file spells out: a
    /// key left to its default is reported at its table.
    fn locate(&self, site: Site) -> Loc {
        let mut node = self.root.as_ref();
        let mut found = None;
        for seg in site_path(site) {
            let Some(n) = node else { break };
            let next = match seg {
                Seg::Key(k) => n.get_ref().key(k),
                Seg::Item(i) => n.get_ref().item(i),
            };
            if next.is_some_and(|n| n.span().is_some()) {
                found = next;
            }
            node = next;
        }
        // The root's span is the whole file: line 0 unless something matched.
        match found {
            Some(n) => self.loc(Some(n)),
            None => Loc::new(self.file, 0),
        }
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

    #[test]
    fn implicit_tables_fall_back_to_their_parent() {
        // `track` and `probe` have no header of their own.
        let text = "[[instances]]\nname = \"a\"\n\n[[instances.track.files]]\nname = \"f\"\n\n[[instances.track.checks]]\nname = \"c\"\n\n[[checks]]\nname = \"c\"\n\n[checks.probe.script]\nargv = []\n";
        let map = TomlMap::new(Path::new("x.toml"), text);
        let at = |site| map.locate(site).line;
        let track = |kind, i| Site::Instance {
            index: 0,
            field: Field::Track(kind, i),
        };
        assert_eq!(at(track(TrackKind::File, 0)), 4);
        assert_eq!(at(track(TrackKind::Check, 0)), 7);
        assert_eq!(at(track(TrackKind::Process, 0)), 1);
        let probe = Site::Item {
            list: crate::config::validate::List::Checks,
            index: 0,
            key: Some("probe"),
        };
        assert_eq!(at(probe), 10);
    }
}
