// Small name lists for the synthetic population, with the nicknames people give a receptionist
// (William → Bill). Lists are ordered roughly by how common each name is in England and Wales, because
// the population picks towards the front: linkage needs many Smiths and many Olivers to be realistic
// about blocking, and a long tail of rarer names (with accents, apostrophes and hyphens) to exercise
// normalisation and character sets. Every character here is Latin-1, so HL7 files declared `8859/1`
// can carry them.

export const MALE_GIVEN_NAMES: readonly string[] = [
  'Oliver', 'James', 'William', 'Thomas', 'George', 'Harry', 'Jack', 'Muhammad', 'Daniel', 'David',
  'John', 'Michael', 'Robert', 'Christopher', 'Matthew', 'Joseph', 'Samuel', 'Benjamin', 'Alexander', 'Edward',
  'Richard', 'Andrew', 'Peter', 'Stephen', 'Anthony', 'Jonathan', 'Nicholas', 'Timothy', 'Henry', 'Charles',
  'Mark', 'Paul', 'Adam', 'Ryan', 'Liam', 'Noah', 'Leo', 'Arthur', 'Oscar', 'Jacob',
  'Mohammed', 'Arjun', 'Ravi', 'Imran', 'Tariq', 'Kwame', 'Oluwaseun', 'Chinedu', 'Piotr', 'Tomasz',
  'Rhys', 'Gareth', 'Seán', 'Ciarán', 'Hamish', 'Callum', 'Declan', 'Jérôme', 'Mateus', 'Kofi',
];

export const FEMALE_GIVEN_NAMES: readonly string[] = [
  'Olivia', 'Amelia', 'Isla', 'Ava', 'Emily', 'Sophie', 'Grace', 'Mia', 'Poppy', 'Ella',
  'Elizabeth', 'Margaret', 'Catherine', 'Katherine', 'Susan', 'Patricia', 'Jennifer', 'Rebecca', 'Victoria', 'Charlotte',
  'Sarah', 'Emma', 'Hannah', 'Laura', 'Jessica', 'Deborah', 'Jacqueline', 'Abigail', 'Harriet', 'Alexandra',
  'Helen', 'Claire', 'Rachel', 'Nicola', 'Karen', 'Joanne', 'Lucy', 'Chloe', 'Freya', 'Florence',
  'Fatima', 'Aisha', 'Priya', 'Ananya', 'Zainab', 'Amara', 'Chiamaka', 'Ngozi', 'Agnieszka', 'Katarzyna',
  'Siân', 'Bethan', 'Siobhan', 'Niamh', 'Aoife', 'Zoë', 'Chloé', 'Maëlle', 'Ffion', 'Mairéad',
];

export const FAMILY_NAMES: readonly string[] = [
  'Smith', 'Jones', 'Williams', 'Taylor', 'Brown', 'Davies', 'Evans', 'Wilson', 'Thomas', 'Johnson',
  'Roberts', 'Robinson', 'Thompson', 'Wright', 'Walker', 'White', 'Edwards', 'Hughes', 'Green', 'Hall',
  'Lewis', 'Harris', 'Clarke', 'Patel', 'Jackson', 'Wood', 'Turner', 'Martin', 'Cooper', 'Hill',
  'Ward', 'Morris', 'Moore', 'Clark', 'Lee', 'King', 'Baker', 'Harrison', 'Morgan', 'Allen',
  'James', 'Scott', 'Phillips', 'Watson', 'Davis', 'Parker', 'Price', 'Bennett', 'Young', 'Griffiths',
  'Mitchell', 'Kelly', 'Cook', 'Carter', 'Richardson', 'Bailey', 'Collins', 'Bell', 'Shaw', 'Murphy',
  'Miller', 'Cox', 'Richards', 'Khan', 'Marshall', 'Anderson', 'Simpson', 'Ellis', 'Adams', 'Singh',
  'Begum', 'Wilkinson', 'Foster', 'Chapman', 'Powell', 'Webb', 'Rogers', 'Gray', 'Mason', 'Ali',
  'Hunt', 'Hussain', 'Campbell', 'Matthews', 'Owen', 'Palmer', 'Holmes', 'Mills', 'Barnes', 'Knight',
  "O'Neil", "D'Souza", 'Smith-Jones', 'MacDonald', 'McCarthy', 'Nguyen', 'Okafor', 'Kowalski', 'Adeyemi', 'Ó Briain',
];

/** Formal name → the short forms that turn up in records. */
export const NICKNAMES: Readonly<Record<string, readonly string[]>> = {
  William: ['Bill', 'Will', 'Billy'],
  James: ['Jim', 'Jamie'],
  Thomas: ['Tom', 'Tommy'],
  Harry: ['Hal'],
  Henry: ['Harry', 'Hal'],
  Daniel: ['Dan', 'Danny'],
  David: ['Dave'],
  John: ['Jack', 'Johnny'],
  Michael: ['Mike', 'Mick'],
  Robert: ['Bob', 'Rob', 'Bobby'],
  Christopher: ['Chris'],
  Matthew: ['Matt'],
  Joseph: ['Joe'],
  Samuel: ['Sam'],
  Benjamin: ['Ben'],
  Alexander: ['Alex', 'Sandy'],
  Edward: ['Ed', 'Ted', 'Eddie'],
  Richard: ['Rich', 'Dick', 'Rick'],
  Andrew: ['Andy', 'Drew'],
  Peter: ['Pete'],
  Stephen: ['Steve'],
  Anthony: ['Tony'],
  Jonathan: ['Jon'],
  Nicholas: ['Nick'],
  Timothy: ['Tim'],
  Charles: ['Charlie', 'Chas'],
  Elizabeth: ['Liz', 'Beth', 'Lizzie', 'Betty'],
  Margaret: ['Maggie', 'Peggy', 'Meg'],
  Catherine: ['Kate', 'Cathy'],
  Katherine: ['Kate', 'Kathy'],
  Susan: ['Sue', 'Susie'],
  Patricia: ['Pat', 'Trish'],
  Jennifer: ['Jen', 'Jenny'],
  Rebecca: ['Becky', 'Becca'],
  Victoria: ['Vicky', 'Tori'],
  Charlotte: ['Lottie', 'Charlie'],
  Deborah: ['Debbie', 'Deb'],
  Jacqueline: ['Jackie'],
  Abigail: ['Abbie', 'Abby'],
  Harriet: ['Hattie'],
  Alexandra: ['Alex', 'Sasha'],
  Amelia: ['Millie'],
  Florence: ['Flo'],
  Olivia: ['Liv'],
};

export const STREET_NAMES: readonly string[] = [
  'High Street', 'Station Road', 'Main Street', 'Park Road', 'Church Road', 'Church Street', 'London Road',
  'Victoria Road', 'Green Lane', 'Manor Road', 'Church Lane', 'Park Avenue', 'The Avenue', 'Queens Road',
  'New Road', 'Grange Road', 'Kings Road', 'North Street', 'Mill Lane', 'School Lane', 'Albert Road',
  'Springfield Road', 'Oxford Road', 'Chapel Street', 'Hillside Avenue', 'Woodland Way', 'Rose & Crown Yard',
];

export const GP_SURNAMES: readonly string[] = [
  'Patel', 'Shah', 'Ahmed', 'Okoye', 'Campbell', 'Lloyd', 'Fraser', 'Bhatt', 'Reid', 'Chowdhury',
  'Hargreaves', 'Mensah', 'Gallagher', 'Rahman', 'Townley', 'Darwin', 'Iqbal', 'Sutherland', 'Nwosu', 'Hale',
];

/** Given name without a nickname returns an empty list. */
export function nicknamesFor(givenName: string): readonly string[] {
  return NICKNAMES[givenName] ?? [];
}
