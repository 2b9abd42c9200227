//! What serde_json reads more loosely than this configuration allows: a struct from an
//! array of its values (`"log":["warn",64,10]`), and an enum from anything but a string
//! (a number is then reported as a syntax error). Each wrapper asks for the JSON type it
//! needs, then lets the derived type read the rest. `Whole` names its range in errors
//! rather than a Rust type (`u16`).

use serde::de::value::{MapAccessDeserializer, StrDeserializer};
use serde::de::{
    Deserialize, DeserializeOwned, Deserializer, Error, IntoDeserializer, MapAccess, Unexpected,
    Visitor,
};
use std::fmt;
use std::marker::PhantomData;

/// A derived struct, read from a JSON object only.
pub struct Object<T>(pub T);

/// A derived enum of unit variants, read from a JSON string only.
pub struct Word<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ObjectVisitor(PhantomData)).map(Object)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Word<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(WordVisitor(PhantomData)).map(Word)
    }
}

struct WordVisitor<T>(PhantomData<T>);

impl<'de, T: DeserializeOwned> Visitor<'de> for WordVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<T, E> {
        let word: StrDeserializer<'_, E> = v.into_deserializer();
        T::deserialize(word)
    }
}

/// A whole number that fits `T`, from a JSON integer only (`403.0` and `4e2` are refused).
pub struct Whole<T>(pub T);

/// The integer types a configuration key can have.
pub trait Bounded: TryFrom<u64> {
    const LARGEST: u64;
}

impl Bounded for u16 {
    const LARGEST: u64 = u16::MAX as u64;
}

impl Bounded for u32 {
    const LARGEST: u64 = u32::MAX as u64;
}

impl<'de, T: Bounded> Deserialize<'de> for Whole<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_u64(WholeVisitor(PhantomData)).map(Whole)
    }
}

struct WholeVisitor<T>(PhantomData<T>);

impl<'de, T: Bounded> Visitor<'de> for WholeVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a whole number from 0 to {}", T::LARGEST)
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<T, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
        }
    }
}
