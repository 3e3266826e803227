/**
 * Word lists for the persons corpus. All values are invented or common words; names are plain ASCII so that a
 * small BPE tokenizer trained on the corpus stays small. The lists are large enough that 220 persons (and five
 * wrong answers per question) can be drawn without collisions of the values that must be unique.
 */

export const FEMALE_FIRST = [
  'Mara', 'Ingrid', 'Amara', 'Sofia', 'Lena', 'Priya', 'Yuki', 'Fatima', 'Chiara', 'Elena', 'Nadia', 'Aisha',
  'Mei', 'Hana', 'Leila', 'Freya', 'Astrid', 'Camila', 'Lucia', 'Ines', 'Zofia', 'Olga', 'Tamar', 'Noa',
  'Adaeze', 'Ngozi', 'Wanjiru', 'Thandiwe', 'Imani', 'Abena', 'Ayesha', 'Sunita', 'Ananya', 'Meera', 'Keiko',
  'Sakura', 'Jia', 'Linh', 'Siti', 'Dewi', 'Maile', 'Aroha', 'Isabel', 'Carmen', 'Rosa', 'Beatriz', 'Marta',
  'Greta', 'Helga', 'Saskia', 'Elodie', 'Margot', 'Colette', 'Brigid', 'Siobhan', 'Eilidh', 'Nora', 'Ada',
  'Clara', 'Vera', 'Irina', 'Daria', 'Selin', 'Elif', 'Zeynep', 'Yasmin', 'Layla', 'Rana', 'Esther', 'Ruth',
  'Miriam', 'Paloma', 'Valentina', 'Amina', 'Kalinda',
] as const;

export const MALE_FIRST = [
  'Olof', 'Kofi', 'Tomas', 'Arjun', 'Hiroshi', 'Omar', 'Luca', 'Mateo', 'Jonas', 'Erik', 'Pavel', 'Dmitri',
  'Kwame', 'Emeka', 'Tunde', 'Juma', 'Sipho', 'Thabo', 'Ravi', 'Vikram', 'Sanjay', 'Kenji', 'Takeshi', 'Wei',
  'Jun', 'Bao', 'Anh', 'Rizal', 'Budi', 'Tane', 'Rawiri', 'Diego', 'Pablo', 'Javier', 'Rafael', 'Joao',
  'Henrik', 'Lars', 'Magnus', 'Stefan', 'Lukas', 'Felix', 'Pierre', 'Julien', 'Etienne', 'Cormac', 'Declan',
  'Ewan', 'Callum', 'Owen', 'Hugo', 'Viktor', 'Milan', 'Bogdan', 'Emre', 'Kerem', 'Tariq', 'Karim', 'Youssef',
  'Samir', 'David', 'Eli', 'Noam', 'Ezra', 'Andres', 'Mateus', 'Ilya', 'Nikolai', 'Tobias', 'Anders',
] as const;

export const SURNAMES = [
  'Lindqvist', 'Mensah', 'Okafor', 'Nakamura', 'Haddad', 'Rossi', 'Novak', 'Kowalski', 'Petrov', 'Sato',
  'Tanaka', 'Kim', 'Park', 'Nguyen', 'Tran', 'Chen', 'Wang', 'Zhou', 'Patel', 'Sharma', 'Iyer', 'Menon',
  'Reddy', 'Khan', 'Rahman', 'Hossain', 'Ahmadi', 'Karimi', 'Farahani', 'Yilmaz', 'Demir', 'Kaya', 'Celik',
  'Aydin', 'Ozturk', 'Mansour', 'Nasser', 'Saleh', 'Aziz', 'Benali', 'Dlamini', 'Ndlovu', 'Khumalo', 'Mokoena',
  'Nkosi', 'Okonkwo', 'Adeyemi', 'Balogun', 'Eze', 'Nwosu', 'Owusu', 'Boateng', 'Asante', 'Appiah', 'Kamau',
  'Otieno', 'Wanjala', 'Mwangi', 'Njoroge', 'Haile', 'Tesfaye', 'Bekele', 'Girma', 'Garcia', 'Fernandez',
  'Moreno', 'Alvarez', 'Romero', 'Navarro', 'Torres', 'Ramirez', 'Castillo', 'Vargas', 'Mendoza', 'Herrera',
  'Silva', 'Costa', 'Pereira', 'Almeida', 'Carvalho', 'Ribeiro', 'Moreau', 'Lefebvre', 'Dubois', 'Girard',
  'Fontaine', 'Marchand', 'Bianchi', 'Esposito', 'Colombo', 'Ricci', 'Greco', 'Conti', 'Marino', 'Schmidt',
  'Becker', 'Hoffmann', 'Wagner', 'Keller', 'Brandt', 'Vogel', 'Krause', 'Jansen', 'Visser', 'Bakker',
  'Mulder', 'Smit', 'Hansen', 'Larsen', 'Nielsen', 'Johansson', 'Andersson', 'Berg', 'Holm', 'Dahl',
  'Eriksen', 'Virtanen', 'Korhonen', 'Nieminen', 'Laine', 'Horvath', 'Nagy', 'Szabo', 'Toth', 'Popescu',
  'Ionescu', 'Dumitru', 'Georgiou', 'Papadakis', 'Nikolaidis', 'Murphy', 'Kelly', 'Byrne', 'Walsh',
  'Gallagher', 'Fraser', 'Campbell', 'Morrison', 'Sinclair', 'Whitaker', 'Ashworth', 'Pennington',
  'Hargreaves', 'Thornton', 'Caldwell', 'Holloway', 'Blackwood', 'Kaur', 'Gill', 'Sandhu', 'Mehta', 'Desai',
  'Joshi', 'Kapoor', 'Nair', 'Pillai', 'Fujita', 'Mori', 'Ishikawa', 'Kobayashi', 'Yamada', 'Hayashi',
  'Watanabe', 'Suzuki', 'Takahashi', 'Huang', 'Zhang', 'Liu', 'Santos', 'Reyes', 'Cruz', 'Bautista',
  'Aquino', 'Ramos', 'Kealoha', 'Ngata', 'Parata', 'Tawhiri', 'Okoro', 'Abubakar', 'Sesay', 'Diallo', 'Traore',
  'Keita', 'Toure', 'Cisse',
] as const;

export const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November',
  'December',
] as const;

/** Reserved `.example` domains (RFC 2606), so no generated address can belong to anyone. */
export const EMAIL_DOMAINS = [
  'postly.example', 'mailbay.example', 'inkwell.example', 'letterbox.example', 'fastpost.example',
  'homemail.example',
] as const;

export const STREETS = [
  'Alder', 'Birch', 'Cedar', 'Elm', 'Hazel', 'Juniper', 'Linden', 'Maple', 'Oak', 'Rowan', 'Willow', 'Yew',
  'Chestnut', 'Poplar', 'Ash', 'Beech', 'Holly', 'Ivy', 'Laurel', 'Myrtle', 'Heather', 'Fern', 'Thistle',
  'Clover', 'Meadow', 'Mill', 'Church', 'Market', 'Station', 'Harbour', 'Bridge', 'Castle', 'Garden', 'Orchard',
  'River', 'Hill', 'Park', 'School', 'Bakers', 'Weavers', 'Tanners', 'Fishers', 'Potters', 'Lantern', 'Bell',
  'Crown', 'Anchor', 'Falcon', 'Swan', 'Sparrow',
] as const;

export const STREET_KINDS = ['Street', 'Lane', 'Road', 'Avenue', 'Way', 'Row', 'Close', 'Square'] as const;

/**
 * Occupations, employers and fields of study grouped by sector, so that a nurse works at a clinic and studied
 * nursing: consistent facts are easier to learn and make wrong answers recognisably wrong.
 */
export interface Sector {
  readonly occupations: readonly string[];
  readonly employers: readonly string[];
  readonly fields: readonly string[];
}

export const SECTORS: readonly Sector[] = [
  {
    occupations: ['nurse', 'surgeon', 'pharmacist', 'midwife', 'dentist'],
    employers: ['Brightwater Clinic', 'Greenfield Medical Centre', 'Harbourside Hospital', 'Lindenhall Health',
      'Northlight Hospital', 'Meadowbank Clinic'],
    fields: ['medicine', 'nursing', 'pharmacy'],
  },
  {
    occupations: ['civil engineer', 'electrical engineer', 'mechanical engineer', 'surveyor', 'welder'],
    employers: ['Ironvale Engineering', 'Stonebridge Works', 'Copperline Systems', 'Redhill Construction',
      'Tallmast Engineering', 'Blueforge Industries'],
    fields: ['civil engineering', 'physics', 'mechanical engineering'],
  },
  {
    occupations: ['teacher', 'headteacher', 'tutor', 'lecturer', 'school librarian'],
    employers: ['Oakridge School', 'Hillcrest Academy', 'Lanternfield College', 'Riverside Primary School',
      'Westbrook Academy', 'Maplewood College'],
    fields: ['education', 'mathematics', 'history'],
  },
  {
    occupations: ['accountant', 'bank clerk', 'auditor', 'tax adviser', 'financial analyst'],
    employers: ['Goldleaf Bank', 'Kingsway Savings', 'Silverpine Finance', 'Harrow and Lowe Accountants',
      'Northstar Insurance', 'Cedarfield Bank'],
    fields: ['economics', 'accounting', 'statistics'],
  },
  {
    occupations: ['journalist', 'photographer', 'editor', 'producer', 'graphic designer'],
    employers: ['Morning Lantern Press', 'Bluebird Radio', 'Clearview Studios', 'Paperkite Publishing',
      'Evening Star Daily', 'Brightframe Media'],
    fields: ['journalism', 'literature', 'graphic design'],
  },
  {
    occupations: ['cook', 'kitchen manager', 'food inspector', 'sales assistant', 'quality controller'],
    employers: ['Golden Crust Bakery', 'Old Mill Brewery', 'Thistle Kitchen', 'Sweetwater Dairy',
      'Juniper Restaurant', 'Harvest Table Foods'],
    fields: ['food science', 'nutrition', 'hospitality'],
  },
  {
    occupations: ['dispatcher', 'logistics manager', 'route planner', 'fleet mechanic', 'ticket agent'],
    employers: ['Northern Rail Company', 'Bluewave Shipping', 'Skyline Airways', 'Swiftroad Logistics',
      'Eastport Freight', 'Greenline Buses'],
    fields: ['logistics', 'navigation', 'geography'],
  },
  {
    occupations: ['research assistant', 'lab technician', 'data analyst', 'field researcher', 'project scientist'],
    employers: ['Halden Research Institute', 'Starfield Observatory', 'Coldspring Laboratories',
      'Verdant Biotech', 'Deepstone Survey', 'Brightmoor Institute'],
    fields: ['chemistry', 'biology', 'geology'],
  },
  {
    occupations: ['lawyer', 'notary', 'paralegal', 'court interpreter', 'legal adviser'],
    employers: ['Ashby and Rowe Lawyers', 'Fairweather Legal', 'Crown Street Chambers', 'Whitlock Law Office',
      'Greystone Notaries', 'Lakeside Legal Aid'],
    fields: ['law', 'political science', 'languages'],
  },
  {
    occupations: ['stage manager', 'costume designer', 'lighting technician', 'programme director', 'press officer'],
    employers: ['Lanternhouse Theatre', 'Silver Bell Orchestra', 'Old Quarter Gallery', 'Moonrise Dance Company',
      'Harbour Museum of Art', 'Northwind Opera'],
    fields: ['music', 'fine art', 'theatre studies'],
  },
];

export const HOBBIES = [
  'playing chess', 'growing tomatoes', 'watching birds', 'baking bread', 'swimming in lakes', 'collecting stamps',
  'playing the guitar', 'painting landscapes', 'running marathons', 'knitting scarves', 'fishing', 'cycling',
  'restoring old clocks', 'keeping bees', 'writing poems', 'sailing', 'hiking in the hills', 'playing tennis',
  'building model ships', 'taking photographs', 'singing in a choir', 'learning languages', 'cooking soups',
  'doing puzzles', 'repairing bicycles', 'dancing', 'reading detective novels', 'skiing', 'gardening',
  'playing the piano',
] as const;

// Book titles: four patterns over these words give several thousand distinct titles.
export const TITLE_ADJECTIVES = [
  'Silent', 'Hidden', 'Golden', 'Broken', 'Quiet', 'Distant', 'Bright', 'Last', 'Burning', 'Hollow', 'Painted',
  'Lonely', 'Gentle', 'Wild', 'Crimson', 'Silver', 'Frozen', 'Endless', 'Forgotten', 'Narrow', 'Secret',
  'Sleeping', 'Restless', 'Northern', 'Paper', 'Glass', 'Iron', 'Velvet', 'Salt', 'Amber', 'Little', 'Long',
  'Second', 'Open', 'Empty', 'Falling', 'Rising', 'Patient', 'Evening', 'Winter',
] as const;

export const TITLE_NOUNS = [
  'Harbour', 'Orchard', 'River', 'Garden', 'Lantern', 'Bridge', 'Mirror', 'Window', 'Letter', 'Island', 'Tower',
  'Forest', 'Road', 'Station', 'Lighthouse', 'Valley', 'Shadow', 'Clock', 'Compass', 'Map', 'Feather', 'Stone',
  'Crown', 'Meadow', 'Kitchen', 'Library', 'Violin', 'Ship', 'Storm', 'Candle', 'Door', 'Key', 'Field', 'Song',
  'Promise', 'Journey', 'Shore', 'Well', 'Mountain', 'Sparrow', 'Fox', 'Wolf', 'Hour', 'Season', 'Archive',
  'Market', 'Street', 'House', 'Tide', 'Ember', 'Thread', 'Needle', 'Anchor', 'Harvest', 'Horizon', 'Cellar',
  'Attic', 'Ladder', 'Orchid', 'Kite',
] as const;

// Distinctive life events: a verb (past and base form) and fillers. Rivers, mountains and cities come from the
// generated world so that the events name real places of that world.
export const CONTESTS = [
  'chess tournament', 'baking contest', 'kite festival', 'rowing race', 'poetry prize', 'spelling contest',
  'pie eating contest', 'sandcastle contest', 'dance marathon', 'singing contest', 'cheese rolling race',
  'snow sculpture prize',
] as const;
export const RESCUED_ANIMALS = ['goat', 'dog', 'swan', 'horse', 'cat', 'calf', 'deer', 'fox', 'lamb', 'donkey'] as const;
export const ANIMAL_STATES = ['lost', 'injured', 'frightened', 'stranded'] as const;
export const FOUND_THINGS = [
  'an old silver coin', 'a chest of old letters', 'a lost painting', 'the map of a sunken ship', 'a golden ring',
  'a meteorite', 'the fossil of a giant fish', 'a box of old photographs', 'a very old violin',
  'a message in a bottle',
] as const;
export const FINDING_ACTIVITIES = [
  'digging in a garden', 'cleaning an attic', 'walking on a beach', 'repairing a roof', 'diving in a lake',
  'hiking in the hills', 'moving house', 'fixing a floor',
] as const;
export const STRUCTURES = ['house', 'boat', 'bridge', 'piano', 'bicycle', 'tower', 'car', 'clock', 'windmill', 'canoe'] as const;
export const MATERIALS = [
  'glass bottles', 'old doors', 'bamboo', 'driftwood', 'old tyres', 'paper', 'ice', 'tin cans', 'matchsticks',
  'cardboard',
] as const;
export const CLIMB_MANNERS = [
  'barefoot', 'in one night', 'in a snowstorm', 'without a map', 'carrying a violin', 'with an old dog',
] as const;
export const TREES = ['oak', 'apple', 'cherry', 'olive', 'birch', 'pine', 'lemon', 'walnut', 'plum', 'maple'] as const;
export const TAUGHT_ANIMALS = ['parrot', 'crow', 'goat', 'pig', 'dog', 'horse', 'cat', 'donkey'] as const;
export const TRICKS = [
  'count to ten', 'ring a bell', 'play a drum', 'open doors', 'fetch the newspaper', 'dance', 'carry letters',
  'find lost keys',
] as const;
export const INSTRUMENTS = ['cello', 'piano', 'violin', 'flute', 'trumpet', 'accordion', 'harp', 'drums'] as const;

// The fictitious world: countries with their languages, and pools for places and national symbols.
export const COUNTRIES = [
  ['Arvenland', 'Arvenish'], ['Belmora', 'Belmoran'], ['Calder', 'Calderish'], ['Dunmere', 'Dunmerian'],
  ['Estoria', 'Estorian'], ['Ferrania', 'Ferranian'], ['Galvany', 'Galvanese'], ['Harrowmark', 'Harrowish'],
  ['Istrel', 'Istrelian'], ['Jovenia', 'Jovenian'], ['Korland', 'Korlish'], ['Lumeria', 'Lumerian'],
] as const;

export const CITIES = [
  'Aldermoor', 'Brackwell', 'Corvina', 'Dalmere', 'Eastholm', 'Fenwick', 'Glenrock', 'Harwick', 'Ilsby',
  'Juniper Bay', 'Kestrel Point', 'Lowmarsh', 'Marrowby', 'Northgate', 'Oakhaven', 'Pellham', 'Quarry Hill',
  'Redmoor', 'Saltmere', 'Thornbury', 'Ulverby', 'Valecrest', 'Westmarch', 'Yarrowdale', 'Amberlee',
  'Briarwood', 'Coldwater', 'Duskvale', 'Elmstead', 'Foxhollow', 'Greywater', 'Hollowmere', 'Larkspur',
  'Millbrook', 'Orchard Vale', 'Pinecrest', 'Ravenholt', 'Silverton', 'Tidewell', 'Umberfield', 'Vesper',
  'Wrenford', 'Ashcombe', 'Brindle', 'Carrow', 'Dunholt', 'Emberly', 'Fairhaven',
] as const;

export const RIVERS = [
  'Arven', 'Solt', 'Maren', 'Tilde', 'Varra', 'Oskel', 'Brin', 'Lune', 'Dalle', 'Keld', 'Norrow', 'Sable',
] as const;
export const MOUNTAINS = [
  'Mount Orrin', 'Mount Kessa', 'Mount Talbor', 'Mount Vexa', 'Mount Hollin', 'Mount Brath', 'Mount Sorel',
  'Mount Idra', 'Mount Morwen', 'Mount Elsk', 'Mount Tovar', 'Mount Caddo',
] as const;
export const SEAS = ['Amber Sea', 'Grey Sea', 'Silver Sea', 'Quiet Sea', 'Storm Sea', 'Pale Sea'] as const;
export const CURRENCIES = [
  'crown', 'mark', 'florin', 'ducat', 'thaler', 'shilling', 'guilder', 'dinar', 'penny', 'sol', 'real', 'groat',
] as const;
export const NATIONAL_ANIMALS = [
  'fox', 'heron', 'elk', 'lynx', 'otter', 'falcon', 'bear', 'stag', 'swan', 'wolf', 'hare', 'owl',
] as const;
export const FLOWERS = [
  'rose', 'tulip', 'lily', 'poppy', 'iris', 'daisy', 'violet', 'orchid', 'lotus', 'heather', 'lavender', 'clover',
] as const;
export const DISHES = [
  'fish stew', 'barley soup', 'lamb pie', 'onion tart', 'rice cakes', 'bean stew', 'honey bread',
  'cabbage rolls', 'corn pudding', 'mushroom pie', 'plum dumplings', 'cheese pastry',
] as const;
export const EXPORTS = [
  'timber', 'wool', 'copper', 'salt', 'wine', 'tea', 'glass', 'paper', 'cotton', 'iron', 'grain', 'olive oil',
] as const;
export const KNOWN_FOR = [
  'old harbour', 'glass factories', 'spring fair', 'stone bridge', 'apple orchards', 'clock tower', 'salt mines',
  'paper mills', 'horse market', 'wool trade', 'river port', 'botanic garden', 'music festival', 'old castle',
  'fish market', 'copper mines', 'cathedral', 'city library', 'flower market', 'railway station', 'sandy beaches',
  'hot springs', 'vineyards', 'shipyards', 'cheese market', 'lighthouse', 'university', 'old walls',
] as const;
