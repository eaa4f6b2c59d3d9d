//! The resolution-835 datasets (DOMAIN.md section 5) as data: each is a
//! `FROM … WHERE …` over live rows plus its published fields, each field an
//! SQL expression. Nothing here comes from a request, so the SQL is static.
//!
//! Identification codes: only 8-digit EDRPOU codes of legal entities are
//! published (`code8`); a 10-digit code is an individual's tax number and
//! comes out null, and so does the name next to it (`legal_name`).

/// A published field: its name in the files, type and titles.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    /// `string`, `integer`, `number`, `date` or `boolean`.
    pub field_type: &'static str,
    pub title_uk: &'static str,
    pub title_en: &'static str,
    /// SQL over the dataset's FROM aliases.
    pub(crate) sql: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct Dataset {
    pub id: &'static str,
    pub title_uk: &'static str,
    pub title_en: &'static str,
    /// The row id — the files' `id`: an int8 expression, or text when the
    /// first field (`id`) is a `string`.
    pub(crate) id_sql: &'static str,
    /// A WGS 84 geometry expression, when the dataset has geometry.
    pub(crate) geometry_sql: Option<&'static str>,
    /// `FROM … WHERE …` (live rows only).
    pub(crate) from_sql: &'static str,
    pub fields: &'static [Field],
}

impl Dataset {
    pub fn has_geometry(&self) -> bool {
        self.geometry_sql.is_some()
    }

    /// The formats the dataset is published in.
    pub fn formats(&self) -> &'static [&'static str] {
        if self.has_geometry() {
            &["csv", "json", "geojson"]
        } else {
            &["csv", "json"]
        }
    }
}

pub fn get(id: &str) -> Option<&'static Dataset> {
    DATASETS.iter().find(|d| d.id == id)
}

const fn f(
    name: &'static str,
    field_type: &'static str,
    title_uk: &'static str,
    title_en: &'static str,
    sql: &'static str,
) -> Field {
    Field {
        name,
        field_type,
        title_uk,
        title_en,
        sql,
    }
}

const ID: Field = f("id", "integer", "Ідентифікатор", "Identifier", "");
/// The id of a dataset drawn from several tables: `<object type>-<id>`,
/// stable across exports (a row number would shift with every change).
const TEXT_ID: Field = f(
    "id",
    "string",
    "Ідентифікатор (вид-номер, напр. property-12)",
    "Identifier (type-id, e.g. property-12)",
    "",
);

pub static DATASETS: &[Dataset] = &[
    Dataset {
        id: "communal_property",
        title_uk: "Перелік об'єктів комунальної власності",
        title_en: "Communal property",
        id_sql: "p.id",
        geometry_sql: Some("p.geom"),
        from_sql: "FROM communal_property p WHERE p.deleted_at IS NULL",
        fields: &[
            ID,
            f(
                "inventoryNumber",
                "string",
                "Інвентарний номер",
                "Inventory number",
                "p.inventory_number",
            ),
            f("name", "string", "Назва", "Name", "p.name"),
            f("kind", "string", "Тип об'єкта", "Kind", "p.kind"),
            f("address", "string", "Адреса", "Address", "p.address"),
            f("area", "number", "Площа, м²", "Area, m²", "p.area_m2"),
            f("floors", "integer", "Поверховість", "Floors", "p.floors"),
            f("yearBuilt", "integer", "Рік побудови", "Year built", "p.year_built"),
            f(
                "balanceHolderName",
                "string",
                "Балансоутримувач",
                "Balance holder",
                "p.balance_holder_name",
            ),
            f(
                "balanceHolderId",
                "string",
                "Код ЄДРПОУ балансоутримувача",
                "Balance holder EDRPOU",
                "code8(p.balance_holder_edrpou)",
            ),
            f("useStatus", "string", "Стан використання", "Use status", "p.use_status"),
            f("condition", "string", "Технічний стан", "Condition", "p.condition"),
            f("lat", "number", "Широта", "Latitude", "lat(p.geom)"),
            f("lon", "number", "Довгота", "Longitude", "lon(p.geom)"),
        ],
    },
    Dataset {
        id: "leased_property",
        title_uk: "Перелік об'єктів комунальної власності, що передані в оренду",
        title_en: "Leased communal property",
        id_sql: "l.id",
        geometry_sql: Some("p.geom"),
        from_sql: "FROM leases l JOIN communal_property p ON p.id = l.property_id \
                   WHERE l.deleted_at IS NULL AND p.deleted_at IS NULL",
        fields: &[
            ID,
            f("propertyId", "integer", "Ідентифікатор об'єкта", "Property id", "p.id"),
            f(
                "inventoryNumber",
                "string",
                "Інвентарний номер",
                "Inventory number",
                "p.inventory_number",
            ),
            f("propertyName", "string", "Назва об'єкта", "Property name", "p.name"),
            f("address", "string", "Адреса", "Address", "p.address"),
            f(
                "tenantName",
                "string",
                "Орендар (юридична особа)",
                "Tenant (legal entity)",
                "CASE WHEN l.tenant_category = 'individual' THEN NULL ELSE legal_name(l.tenant_name, l.tenant_edrpou) END",
            ),
            f(
                "tenantId",
                "string",
                "Код ЄДРПОУ орендаря",
                "Tenant EDRPOU",
                "CASE WHEN l.tenant_category = 'individual' THEN NULL ELSE code8(l.tenant_edrpou) END",
            ),
            f(
                "tenantCategory",
                "string",
                "Категорія орендаря",
                "Tenant category",
                "l.tenant_category",
            ),
            f(
                "contractNumber",
                "string",
                "Номер договору",
                "Contract number",
                "l.contract_number",
            ),
            f("startDate", "date", "Початок оренди", "Lease start", "l.start_date"),
            f("endDate", "date", "Кінець оренди", "Lease end", "l.end_date"),
            f(
                "leasedArea",
                "number",
                "Орендована площа, м²",
                "Leased area, m²",
                "l.leased_area_m2",
            ),
            f(
                "monthlyRent",
                "number",
                "Місячна орендна плата, грн",
                "Monthly rent, UAH",
                "l.monthly_rent_uah",
            ),
            f("lat", "number", "Широта", "Latitude", "lat(p.geom)"),
            f("lon", "number", "Довгота", "Longitude", "lon(p.geom)"),
        ],
    },
    Dataset {
        id: "vacant_for_lease",
        title_uk: "Перелік вільних приміщень і земельних ділянок, які можуть бути передані в оренду",
        title_en: "Vacant property and land that can be leased",
        id_sql: "v.object_type || '-' || v.object_id",
        geometry_sql: Some("v.geom"),
        from_sql: "FROM ( \
                     SELECT 'property' AS object_type, p.id AS object_id, p.inventory_number AS number, \
                            p.name, p.address, p.area_m2 AS area, 'm2' AS area_unit, p.geom \
                       FROM communal_property p WHERE p.deleted_at IS NULL AND p.use_status = 'vacant' \
                     UNION ALL \
                     SELECT 'land_plot', lp.id, lp.cadastral_number, lp.purpose_code, lp.address, lp.area_ha, 'ha', lp.geom \
                       FROM land_plots lp WHERE lp.deleted_at IS NULL AND lp.ownership = 'communal' AND lp.use_status = 'free' \
                   ) v",
        fields: &[
            TEXT_ID,
            f(
                "objectType",
                "string",
                "Вид об'єкта (property / land_plot)",
                "Object type (property / land_plot)",
                "v.object_type",
            ),
            f(
                "objectId",
                "integer",
                "Ідентифікатор об'єкта",
                "Object id",
                "v.object_id",
            ),
            f(
                "number",
                "string",
                "Інвентарний або кадастровий номер",
                "Inventory or cadastral number",
                "v.number",
            ),
            f(
                "name",
                "string",
                "Назва або код цільового призначення",
                "Name or purpose code",
                "v.name",
            ),
            f("address", "string", "Адреса", "Address", "v.address"),
            f("area", "number", "Площа", "Area", "v.area"),
            f(
                "areaUnit",
                "string",
                "Одиниця площі (m2 / ha)",
                "Area unit (m2 / ha)",
                "v.area_unit",
            ),
            f("lat", "number", "Широта", "Latitude", "lat(v.geom)"),
            f("lon", "number", "Довгота", "Longitude", "lon(v.geom)"),
        ],
    },
    Dataset {
        id: "land_offered_for_building",
        title_uk: "Земельні ділянки, які пропонуються для забудови",
        title_en: "Land plots offered for building",
        id_sql: "lp.id",
        geometry_sql: Some("lp.geom"),
        from_sql: "FROM land_plots lp WHERE lp.deleted_at IS NULL AND lp.use_status = 'offered_for_building'",
        fields: &[
            ID,
            f(
                "cadastralNumber",
                "string",
                "Кадастровий номер",
                "Cadastral number",
                "lp.cadastral_number",
            ),
            f("area", "number", "Площа, га", "Area, ha", "lp.area_ha"),
            f(
                "purposeCode",
                "string",
                "Код цільового призначення (КВЦПЗ)",
                "Purpose code",
                "lp.purpose_code",
            ),
            f("ownership", "string", "Форма власності", "Ownership", "lp.ownership"),
            f("address", "string", "Адреса", "Address", "lp.address"),
            f(
                "normativeValue",
                "number",
                "Нормативна грошова оцінка, грн",
                "Normative value, UAH",
                "lp.normative_value_uah",
            ),
            f("lat", "number", "Широта", "Latitude", "lat(lp.geom)"),
            f("lon", "number", "Довгота", "Longitude", "lon(lp.geom)"),
        ],
    },
    Dataset {
        id: "communal_land_leased_or_privatised",
        title_uk: "Земельні ділянки комунальної власності, надані в оренду або приватизовані",
        title_en: "Communal land leased or privatised",
        id_sql: "lp.id",
        geometry_sql: Some("lp.geom"),
        from_sql: "FROM land_plots lp WHERE lp.deleted_at IS NULL \
                   AND (lp.use_status = 'privatized' OR (lp.use_status = 'leased' AND lp.ownership = 'communal'))",
        fields: &[
            ID,
            f(
                "cadastralNumber",
                "string",
                "Кадастровий номер",
                "Cadastral number",
                "lp.cadastral_number",
            ),
            f("area", "number", "Площа, га", "Area, ha", "lp.area_ha"),
            f(
                "purposeCode",
                "string",
                "Код цільового призначення (КВЦПЗ)",
                "Purpose code",
                "lp.purpose_code",
            ),
            f(
                "useStatus",
                "string",
                "Стан (leased / privatized)",
                "Status (leased / privatized)",
                "lp.use_status",
            ),
            f("address", "string", "Адреса", "Address", "lp.address"),
            f(
                "userName",
                "string",
                "Користувач (юридична особа)",
                "User (legal entity)",
                "legal_name(lp.user_name, lp.user_edrpou)",
            ),
            f(
                "userId",
                "string",
                "Код ЄДРПОУ користувача",
                "User EDRPOU",
                "code8(lp.user_edrpou)",
            ),
            f(
                "contractNumber",
                "string",
                "Номер договору оренди",
                "Lease contract number",
                "lp.lease_contract_number",
            ),
            f("leaseStart", "date", "Початок оренди", "Lease start", "lp.lease_start"),
            f("leaseEnd", "date", "Кінець оренди", "Lease end", "lp.lease_end"),
            f(
                "annualRent",
                "number",
                "Річна орендна плата, грн",
                "Annual rent, UAH",
                "lp.annual_rent_uah",
            ),
            f("lat", "number", "Широта", "Latitude", "lat(lp.geom)"),
            f("lon", "number", "Довгота", "Longitude", "lon(lp.geom)"),
        ],
    },
    Dataset {
        // Field names as in the published national schema (DOMAIN.md §5).
        id: "advertising_permits",
        title_uk: "Дозволи на розміщення зовнішньої реклами",
        title_en: "Outdoor advertising permits",
        id_sql: "a.id",
        geometry_sql: Some("a.geom"),
        from_sql: "FROM ad_structures a WHERE a.deleted_at IS NULL AND a.permit_number IS NOT NULL",
        fields: &[
            ID,
            f(
                "issuedDate",
                "date",
                "Дата видачі дозволу",
                "Permit issue date",
                "a.permit_issued",
            ),
            f(
                "distributorName",
                "string",
                "Розповсюджувач реклами",
                "Distributor",
                "legal_name(a.distributor_name, a.distributor_edrpou)",
            ),
            f(
                "distributorId",
                "string",
                "Код ЄДРПОУ розповсюджувача",
                "Distributor EDRPOU",
                "code8(a.distributor_edrpou)",
            ),
            f("status", "string", "Стан дозволу", "Permit status", "a.status"),
            f("validFrom", "date", "Дійсний з", "Valid from", "a.valid_from"),
            f("validThrough", "date", "Дійсний до", "Valid through", "a.valid_to"),
            f(
                "contractNumber",
                "string",
                "Номер договору",
                "Contract number",
                "a.contract_number",
            ),
            f("type", "string", "Тип конструкції", "Structure type", "a.type"),
            f(
                "planesValue",
                "integer",
                "Кількість площин",
                "Number of planes",
                "a.planes",
            ),
            f("horizontalSize", "number", "Ширина, м", "Width, m", "a.width_m"),
            f("verticalSize", "number", "Висота, м", "Height, m", "a.height_m"),
            f("area", "number", "Площа, м²", "Area, m²", "a.area_m2"),
            f("address", "string", "Адреса", "Address", "a.address"),
            f("lat", "number", "Широта", "Latitude", "lat(a.geom)"),
            f("lon", "number", "Довгота", "Longitude", "lon(a.geom)"),
            f("imageUrl", "string", "Фото", "Image URL", "a.photo_url"),
        ],
    },
    Dataset {
        id: "temporary_structures",
        title_uk: "Тимчасові споруди для провадження підприємницької діяльності",
        title_en: "Temporary structures",
        id_sql: "t.id",
        geometry_sql: Some("t.geom"),
        from_sql: "FROM temporary_structures t WHERE t.deleted_at IS NULL",
        fields: &[
            ID,
            f(
                "title",
                "string",
                "Назва (спеціалізація, адреса)",
                "Title (specialization, address)",
                "concat_ws(', ', coalesce(t.specialization, t.type), t.address)",
            ),
            f("type", "string", "Тип споруди", "Structure type", "t.type"),
            f(
                "ownerName",
                "string",
                "Власник (юридична особа)",
                "Owner (legal entity)",
                "legal_name(t.owner_name, t.owner_edrpou)",
            ),
            f(
                "ownerCode",
                "string",
                "Код ЄДРПОУ власника",
                "Owner EDRPOU",
                "code8(t.owner_edrpou)",
            ),
            f(
                "passportNumber",
                "string",
                "Номер паспорта прив'язки",
                "Passport number",
                "t.passport_number",
            ),
            f(
                "passportStatus",
                "string",
                "Стан паспорта прив'язки",
                "Passport status",
                "t.passport_status",
            ),
            f(
                "passportIssuedDate",
                "date",
                "Дата видачі паспорта",
                "Passport issue date",
                "t.issued_at",
            ),
            f(
                "passportDateUntil",
                "date",
                "Паспорт дійсний до",
                "Passport valid until",
                "t.valid_until",
            ),
            f("lat", "number", "Широта", "Latitude", "lat(t.geom)"),
            f("lon", "number", "Довгота", "Longitude", "lon(t.geom)"),
        ],
    },
    Dataset {
        // Deputies are public officials: names and official contacts are
        // published by law.
        id: "deputies",
        title_uk: "Депутати міської ради",
        title_en: "Deputies of the city council",
        id_sql: "d.id",
        geometry_sql: None,
        from_sql: "FROM deputies d LEFT JOIN electoral_districts e ON e.id = d.district_id AND e.deleted_at IS NULL \
                   WHERE d.deleted_at IS NULL",
        fields: &[
            ID,
            f(
                "fullName",
                "string",
                "Прізвище, ім'я, по батькові",
                "Full name",
                "d.full_name",
            ),
            f("faction", "string", "Фракція", "Faction", "d.faction"),
            f(
                "commissions",
                "string",
                "Постійні комісії",
                "Standing commissions",
                "array_to_string(d.commissions, '; ')",
            ),
            f(
                "districtNumber",
                "integer",
                "Номер виборчого округу",
                "Electoral district number",
                "e.number",
            ),
            f("convocation", "integer", "Скликання", "Convocation", "d.convocation"),
            f(
                "receptionAddress",
                "string",
                "Адреса приймальні",
                "Reception address",
                "d.reception_address",
            ),
            f(
                "receptionHours",
                "string",
                "Години прийому",
                "Reception hours",
                "d.reception_hours",
            ),
            f("phone", "string", "Службовий телефон", "Office phone", "d.phone"),
            f("email", "string", "Службова пошта", "Office email", "d.email"),
            f("photoUrl", "string", "Фото", "Photo URL", "d.photo_url"),
            f("validFrom", "date", "Повноваження з", "Mandate from", "d.valid_from"),
            f("validTo", "date", "Повноваження до", "Mandate to", "d.valid_to"),
        ],
    },
];
