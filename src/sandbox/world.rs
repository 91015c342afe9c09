//! The sandbox's seed world: two companies, their users, units and booking objects. Tests and
//! the demo refer to these constants; [`World`] is a builder for adding more.

use chrono::{DateTime, TimeZone, Utc};

/// A company: every unit and booking object belongs to one; a user sees only their company's.
pub type CompanyId = u32;

pub const COMPANY_A: CompanyId = 1;
pub const COMPANY_B: CompanyId = 2;

/// Company A's API user (the demo user).
pub const DEMO_USER: &str = "api-user";
pub const DEMO_PASSWORD: &str = "sandbox-password";
/// Company B's API user: sees only unit 9001 and object 900.
pub const OTHER_USER: &str = "other-company";
pub const OTHER_PASSWORD: &str = "other-password";

/// Company A's FlexyKey with an expansion module (F1, F2, X1–X8, IN1, IN2) and an `io` list.
pub const UNIT_MAIN: i64 = 3023;
/// Its serial number: a digit string whose leading zero must be kept.
pub const UNIT_MAIN_SERIAL: &str = "040530585131396";
/// Company A's older FlexyKey: no `io` list, no expansion (F1, F2, IN1, IN2).
pub const UNIT_OLD: i64 = 5459;
pub const UNIT_OLD_SERIAL: &str = "040530585100459";
/// Company A's EVVA AirKey unit: no outputs to switch, no logs (`/unitlogs` answers 400).
pub const UNIT_EVVA: i64 = 7001;
pub const UNIT_EVVA_SERIAL: &str = "0070010001";
/// Company B's FlexyKey.
pub const UNIT_OTHER: i64 = 9001;
pub const UNIT_OTHER_SERIAL: &str = "040530585109001";

/// Company A: "Cabin 7" on unit 3023.
pub const OBJECT_CABIN: i64 = 123;
/// Company A: "Laundry room A" on unit 5459.
pub const OBJECT_LAUNDRY: i64 = 124;
/// Company A: "Sauna" on unit 3023.
pub const OBJECT_SAUNA: i64 = 125;
/// Company B's booking object, on unit 9001.
pub const OBJECT_OTHER: i64 = 900;

/// Log entries generated per UTC day for a unit unless its spec says otherwise.
pub const DEFAULT_LOGS_PER_DAY: u32 = 150;

/// An API user and the company it acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub password: String,
    pub company: CompanyId,
}

/// One entry of a unit's `io` list (newer units only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoPointSpec {
    pub local_number: i64,
    pub global_number: String,
    pub description: String,
}

/// A unit as the sandbox knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitSpec {
    pub unit_id: i64,
    pub company: CompanyId,
    /// `"FlexyKey"` or an EVVA type such as `"EVVA AirKey"`.
    pub unit_type: String,
    pub serial_number: String,
    pub own_phone_or_id: String,
    pub name: String,
    pub soft_version: String,
    pub unit_info: String,
    pub unit_note: Option<String>,
    /// A Windows zone name.
    pub timezone_id: String,
    pub timezone_info: String,
    pub created: DateTime<Utc>,
    /// `None` for older units: the `io` key is then absent from `GET /units`.
    pub io: Option<Vec<IoPointSpec>>,
    /// Switchable outputs, upper case (`F1`, `X5`).
    pub outputs: Vec<String>,
    /// Inputs (`IN1`).
    pub inputs: Vec<String>,
    pub logs_per_day: u32,
}

impl UnitSpec {
    /// A FlexyKey with F1, F2, IN1, IN2, no `io` list, in "W. Europe Standard Time".
    pub fn flexykey(unit_id: i64, company: CompanyId, serial_number: &str) -> UnitSpec {
        UnitSpec {
            unit_id,
            company,
            unit_type: "FlexyKey".to_owned(),
            serial_number: serial_number.to_owned(),
            own_phone_or_id: format!("+4676{:07}", unit_id.rem_euclid(10_000_000)),
            name: format!("FlexyKey {unit_id}"),
            soft_version: "4.12.3".to_owned(),
            unit_info: "Quectel EG91 rev 02, IMEI 86…, RSSI 23".to_owned(),
            unit_note: None,
            timezone_id: "W. Europe Standard Time".to_owned(),
            timezone_info: "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"
                .to_owned(),
            created: Utc
                .with_ymd_and_hms(2021, 3, 14, 10, 22, 31)
                .single()
                .unwrap_or_default(),
            io: None,
            outputs: vec!["F1".to_owned(), "F2".to_owned()],
            inputs: vec!["IN1".to_owned(), "IN2".to_owned()],
            logs_per_day: DEFAULT_LOGS_PER_DAY,
        }
    }

    /// Adds an expansion module with `X1`..`Xcount` and an `io` list describing every point.
    pub fn with_expansion(mut self, count: u8) -> UnitSpec {
        let count = count.min(64);
        let mut io = vec![
            point(1, "F1", "Grind"),
            point(2, "F2", "Dörr"),
            point(1, "IN1", "Dörrkontakt"),
            point(2, "IN2", "Larm"),
        ];
        for n in 1..=count {
            let name = format!("X{n}");
            self.outputs.push(name.clone());
            io.push(point(i64::from(n), &name, &format!("Relä {name}")));
        }
        self.io = Some(io);
        self
    }

    pub fn with_logs_per_day(mut self, logs_per_day: u32) -> UnitSpec {
        self.logs_per_day = logs_per_day;
        self
    }

    pub fn is_flexykey(&self) -> bool {
        self.unit_type.eq_ignore_ascii_case("FlexyKey")
    }
}

fn point(local_number: i64, global_number: &str, description: &str) -> IoPointSpec {
    IoPointSpec {
        local_number,
        global_number: global_number.to_owned(),
        description: description.to_owned(),
    }
}

/// A booking object: a door, a laundry room, a cabin, opened by its units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSpec {
    pub booking_object_id: i64,
    pub company: CompanyId,
    pub name: String,
    pub unit_ids: Vec<i64>,
    /// Refuses a booking that overlaps one it has (409), as a room booked in slots may. The
    /// contract allows overlaps but lets a server refuse them; off in the seed world.
    pub exclusive: bool,
}

impl ObjectSpec {
    pub fn new(booking_object_id: i64, company: CompanyId, name: &str, unit_ids: &[i64]) -> Self {
        ObjectSpec {
            booking_object_id,
            company,
            name: name.to_owned(),
            unit_ids: unit_ids.to_vec(),
            exclusive: false,
        }
    }

    /// The same object, refusing overlapping bookings with 409.
    pub fn exclusive(mut self) -> Self {
        self.exclusive = true;
        self
    }
}

/// Users, units and booking objects. `World::default()` is the seed world.
#[derive(Debug, Clone, PartialEq)]
pub struct World {
    pub users: Vec<User>,
    pub units: Vec<UnitSpec>,
    pub objects: Vec<ObjectSpec>,
}

impl Default for World {
    fn default() -> Self {
        World::seed()
    }
}

impl World {
    /// The seed world described in the module docs.
    pub fn seed() -> World {
        let mut main = UnitSpec::flexykey(UNIT_MAIN, COMPANY_A, UNIT_MAIN_SERIAL).with_expansion(8);
        main.name = "Stugbyn grind".to_owned();
        let mut old = UnitSpec::flexykey(UNIT_OLD, COMPANY_A, UNIT_OLD_SERIAL);
        old.name = "Tvättstuga A".to_owned();
        old.soft_version = "3.8.1".to_owned();
        old.unit_note = Some("Gammal enhet, utan expansion".to_owned());
        let mut evva = UnitSpec::flexykey(UNIT_EVVA, COMPANY_A, UNIT_EVVA_SERIAL);
        evva.unit_type = "EVVA AirKey".to_owned();
        evva.name = "Bastu cylinder".to_owned();
        evva.own_phone_or_id = "AK-7001".to_owned();
        evva.unit_info = "EVVA AirKey cylinder".to_owned();
        evva.outputs.clear();
        evva.inputs.clear();
        evva.logs_per_day = 0;
        let other = UnitSpec::flexykey(UNIT_OTHER, COMPANY_B, UNIT_OTHER_SERIAL);
        World {
            users: vec![
                User {
                    name: DEMO_USER.to_owned(),
                    password: DEMO_PASSWORD.to_owned(),
                    company: COMPANY_A,
                },
                User {
                    name: OTHER_USER.to_owned(),
                    password: OTHER_PASSWORD.to_owned(),
                    company: COMPANY_B,
                },
            ],
            units: vec![main, old, evva, other],
            objects: vec![
                ObjectSpec::new(OBJECT_CABIN, COMPANY_A, "Cabin 7", &[UNIT_MAIN]),
                ObjectSpec::new(OBJECT_LAUNDRY, COMPANY_A, "Laundry room A", &[UNIT_OLD]),
                ObjectSpec::new(OBJECT_SAUNA, COMPANY_A, "Sauna", &[UNIT_MAIN]),
                ObjectSpec::new(OBJECT_OTHER, COMPANY_B, "Brygga 4", &[UNIT_OTHER]),
            ],
        }
    }

    /// Adds (or replaces, by id) a unit.
    pub fn with_unit(mut self, unit: UnitSpec) -> World {
        self.units.retain(|u| u.unit_id != unit.unit_id);
        self.units.push(unit);
        self
    }

    /// Adds (or replaces, by id) a booking object.
    pub fn with_object(mut self, object: ObjectSpec) -> World {
        self.objects
            .retain(|o| o.booking_object_id != object.booking_object_id);
        self.objects.push(object);
        self
    }

    pub fn with_user(mut self, name: &str, password: &str, company: CompanyId) -> World {
        self.users.retain(|u| u.name != name);
        self.users.push(User {
            name: name.to_owned(),
            password: password.to_owned(),
            company,
        });
        self
    }

    pub fn unit(&self, unit_id: i64) -> Option<&UnitSpec> {
        self.units.iter().find(|u| u.unit_id == unit_id)
    }

    pub fn unit_by_serial(&self, serial: &str) -> Option<&UnitSpec> {
        self.units.iter().find(|u| u.serial_number == serial)
    }

    pub fn object(&self, object_id: i64) -> Option<&ObjectSpec> {
        self.objects
            .iter()
            .find(|o| o.booking_object_id == object_id)
    }
}
