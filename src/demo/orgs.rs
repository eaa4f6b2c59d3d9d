//! Municipal bodies and enterprises (balance holders, land users), with
//! EDRPOU codes fixed per seed.

use super::util::{edrpou, stream};

pub struct Org {
    pub name: &'static str,
    pub edrpou: String,
}

/// Indices into `Orgs::list`, named for readability.
pub mod id {
    pub const EXECUTIVE: usize = 0;
    pub const EDUCATION: usize = 1;
    pub const HEALTH: usize = 2;
    pub const CULTURE: usize = 3;
    pub const SPORT: usize = 4;
    pub const PROPERTY: usize = 5;
    pub const HOUSING: usize = 6;
    pub const WATER: usize = 7;
    pub const HEAT: usize = 8;
    pub const GREEN: usize = 9;
    pub const ROADS: usize = 10;
    pub const LIGHT: usize = 11;
    pub const TRANSPORT: usize = 12;
    pub const SOCIAL: usize = 13;
    pub const MARKETS: usize = 14;
}

const NAMES: &[&str] = &[
    "Виконавчий комітет Житомирської міської ради",
    "Управління освіти Житомирської міської ради",
    "Управління охорони здоров'я Житомирської міської ради",
    "Управління культури Житомирської міської ради",
    "Управління у справах сім'ї, молоді та спорту Житомирської міської ради",
    "Управління комунальної власності Житомирської міської ради",
    "Департамент житлового господарства Житомирської міської ради",
    "КП «Житомирводоканал» Житомирської міської ради",
    "КП «Житомиртеплокомуненерго» Житомирської міської ради",
    "КП «Зеленбуд» Житомирської міської ради",
    "КП «Шляхрембуд» Житомирської міської ради",
    "КП «Житомирсвітло» Житомирської міської ради",
    "КП «Житомирське трамвайно-тролейбусне управління» Житомирської міської ради",
    "Департамент соціальної політики Житомирської міської ради",
    "КП «Житомирські ринки» Житомирської міської ради",
];

pub struct Orgs {
    pub list: Vec<Org>,
}

impl Orgs {
    pub fn new(seed: u64) -> Orgs {
        let mut rng = stream(seed, 50);
        Orgs {
            list: NAMES
                .iter()
                .map(|&name| Org {
                    name,
                    edrpou: edrpou(&mut rng),
                })
                .collect(),
        }
    }
    pub fn get(&self, k: usize) -> &Org {
        &self.list[k % self.list.len()]
    }
}
