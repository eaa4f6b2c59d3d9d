-- Code lists kept as data (DOMAIN.md: "keep the code list as data").

-- КВЦПЗ land-purpose codes, NN.NN.
CREATE TABLE land_purpose_codes (
    code      text PRIMARY KEY CHECK (code ~ '^\d{2}\.\d{2}$'),
    section   text NOT NULL CHECK (section ~ '^\d{2}$'),
    title_uk  text NOT NULL,
    title_en  text NOT NULL
);
INSERT INTO land_purpose_codes (code, section, title_uk, title_en) VALUES
 ('01.01', '01', 'Для ведення товарного сільськогосподарського виробництва', 'Commercial agriculture'),
 ('01.03', '01', 'Для ведення особистого селянського господарства', 'Personal farming'),
 ('01.05', '01', 'Для індивідуального садівництва', 'Individual gardening'),
 ('02.01', '02', 'Для будівництва і обслуговування житлового будинку, господарських будівель і споруд (присадибна ділянка)', 'Individual house'),
 ('02.03', '02', 'Для будівництва і обслуговування багатоквартирного житлового будинку', 'Apartment blocks'),
 ('02.05', '02', 'Для будівництва індивідуальних гаражів', 'Individual garages'),
 ('02.07', '02', 'Для іншої житлової забудови', 'Other housing'),
 ('03.01', '03', 'Для будівництва та обслуговування будівель органів державної влади та місцевого самоврядування', 'Government buildings'),
 ('03.02', '03', 'Для будівництва та обслуговування будівель закладів освіти', 'Education'),
 ('03.03', '03', 'Для будівництва та обслуговування будівель закладів охорони здоров''я та соціальної допомоги', 'Health and social care'),
 ('03.07', '03', 'Для будівництва та обслуговування будівель торгівлі', 'Retail'),
 ('03.08', '03', 'Для будівництва та обслуговування об''єктів туристичної інфраструктури та закладів громадського харчування', 'Tourism and catering'),
 ('03.10', '03', 'Для будівництва та обслуговування будівель ринкової інфраструктури', 'Market infrastructure'),
 ('03.15', '03', 'Для будівництва та обслуговування інших будівель громадської забудови', 'Other public buildings'),
 ('04.01', '04', 'Для збереження та використання біосферних заповідників', 'Nature reserves'),
 ('06.02', '06', 'Для будівництва та обслуговування об''єктів рекреаційного призначення', 'Recreation'),
 ('07.02', '07', 'Для будівництва та обслуговування об''єктів фізичної культури і спорту', 'Sport'),
 ('07.08', '07', 'Земельні ділянки загального користування, які використовуються як зелені насадження', 'Public green space'),
 ('08.01', '08', 'Для забезпечення охорони об''єктів культурної спадщини', 'Cultural heritage'),
 ('09.01', '09', 'Для ведення лісового господарства і пов''язаних з ним послуг', 'Forestry'),
 ('10.01', '10', 'Для експлуатації та догляду за водними об''єктами', 'Water bodies'),
 ('11.02', '11', 'Для розміщення та експлуатації основних, підсобних і допоміжних будівель та споруд підприємств переробної, машинобудівної та іншої промисловості', 'Manufacturing'),
 ('11.04', '11', 'Для розміщення та експлуатації основних, підсобних і допоміжних будівель та споруд технічної інфраструктури', 'Technical infrastructure'),
 ('12.04', '12', 'Для розміщення та експлуатації будівель і споруд автомобільного транспорту та дорожнього господарства', 'Roads and road transport'),
 ('12.08', '12', 'Для розміщення та експлуатації будівель і споруд міського електротранспорту', 'Urban electric transport'),
 ('13.01', '13', 'Для розміщення та експлуатації об''єктів і споруд телекомунікацій', 'Telecommunications'),
 ('14.01', '14', 'Для розміщення, будівництва, експлуатації та обслуговування будівель і споруд об''єктів енергогенеруючих підприємств', 'Power generation'),
 ('14.02', '14', 'Для розміщення, будівництва, експлуатації та обслуговування будівель і споруд об''єктів передачі електричної та теплової енергії', 'Energy transmission'),
 ('15.01', '15', 'Для розміщення та постійної діяльності військових частин', 'Defence'),
 ('16.00', '16', 'Землі запасу', 'Land reserve'),
 ('17.00', '17', 'Землі лісогосподарського призначення та водного фонду, не надані у власність або користування', 'Unallocated forest and water land'),
 ('18.00', '18', 'Землі загального користування населених пунктів', 'Common-use land of settlements');

-- Appeal categories: a tree; radius_m is the duplicate-search radius.
CREATE TABLE appeal_categories (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z_]+(\.[a-z_]+)*$'),
    parent_code text REFERENCES appeal_categories (code),
    title_uk    text NOT NULL,
    title_en    text NOT NULL,
    radius_m    integer NOT NULL DEFAULT 250 CHECK (radius_m > 0),
    sort_order  integer NOT NULL DEFAULT 0
);
INSERT INTO appeal_categories (code, parent_code, title_uk, title_en, radius_m, sort_order) VALUES
 ('roads', NULL, 'Дороги і тротуари', 'Roads and pavements', 150, 1),
 ('roads.potholes', 'roads', 'Ями на дорозі', 'Potholes', 100, 2),
 ('roads.sidewalks', 'roads', 'Тротуари', 'Pavements', 100, 3),
 ('lighting', NULL, 'Вуличне освітлення', 'Street lighting', 150, 4),
 ('waste', NULL, 'Сміття і вивезення відходів', 'Waste collection', 200, 5),
 ('greenery', NULL, 'Зелені насадження', 'Greenery', 200, 6),
 ('housing', NULL, 'Житлово-комунальне господарство', 'Housing and utilities', 100, 7),
 ('heating', NULL, 'Теплопостачання', 'Heating', 300, 8),
 ('water', NULL, 'Водопостачання і водовідведення', 'Water and sewerage', 300, 9),
 ('transport', NULL, 'Громадський транспорт', 'Public transport', 500, 10),
 ('advertising', NULL, 'Реклама', 'Advertising', 100, 11),
 ('temporary_structures', NULL, 'Тимчасові споруди (МАФ)', 'Temporary structures', 100, 12),
 ('construction', NULL, 'Будівництво', 'Construction', 250, 13),
 ('land', NULL, 'Земельні питання', 'Land', 250, 14),
 ('safety', NULL, 'Громадська безпека', 'Public safety', 250, 15),
 ('other', NULL, 'Інше', 'Other', 250, 16);

-- Departments and municipal enterprises that execute appeals.
CREATE TABLE executors (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    name_en     text,
    kind        text NOT NULL CHECK (kind IN ('department', 'enterprise', 'dispatch', 'external')),
    categories  text[] NOT NULL DEFAULT '{}',
    email       text,
    phone       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1,
    deleted_at  timestamptz
);
SELECT geoportal_track('executors');
ALTER TABLE users ADD CONSTRAINT users_executor_fk FOREIGN KEY (executor_id) REFERENCES executors (id);
