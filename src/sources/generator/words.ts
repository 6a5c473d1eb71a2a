/**
 * Small built-in word lists so generated people, addresses and products look real. The
 * anonymization tests rely on these values looking like personal data (and on finding none of
 * them in anonymized output), so keep them realistic rather than `name-123`.
 */
export const FIRST_NAMES = [
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth',
  'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen',
  'Daniel', 'Nancy', 'Matthew', 'Lisa', 'Anthony', 'Betty', 'Mark', 'Margaret', 'Steven', 'Sandra',
  'Paul', 'Ashley', 'Andrew', 'Emily', 'Joshua', 'Michelle', 'Kenneth', 'Amanda', 'Kevin', 'Melissa',
  'Sofia', 'Lucas', 'Amelie', 'Mateo', 'Chloe', 'Hiroshi', 'Priya', 'Olivia', 'Noah', 'Isabella',
] as const;

export const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores',
  'Becker', 'Schneider', 'Dubois', 'Rossi', 'Tanaka', 'Kowalski', 'Novak', 'Patel', 'Okafor', 'Larsen',
] as const;

export const STREET_NAMES = [
  'Maple', 'Oak', 'Pine', 'Cedar', 'Elm', 'Washington', 'Lake', 'Hill', 'Park', 'Sunset',
  'Highland', 'Main', 'Church', 'Mill', 'River', 'Spring', 'Meadow', 'Forest', 'Lincoln', 'Jefferson',
  'Madison', 'Franklin', 'Chestnut', 'Walnut', 'Willow', 'Ridge', 'Valley', 'Cherry', 'Birch', 'Harbor',
] as const;

export const STREET_SUFFIXES = ['Street', 'Avenue', 'Road', 'Lane', 'Drive', 'Court', 'Boulevard', 'Way', 'Place', 'Terrace'] as const;

/** City, state and the first three digits of its ZIP codes. */
export const CITIES: ReadonlyArray<readonly [string, string, string]> = [
  ['Springfield', 'IL', '627'], ['Portland', 'OR', '972'], ['Austin', 'TX', '787'], ['Denver', 'CO', '802'],
  ['Madison', 'WI', '537'], ['Columbus', 'OH', '432'], ['Raleigh', 'NC', '276'], ['Boise', 'ID', '837'],
  ['Burlington', 'VT', '054'], ['Savannah', 'GA', '314'], ['Tucson', 'AZ', '857'], ['Omaha', 'NE', '681'],
  ['Richmond', 'VA', '232'], ['Albany', 'NY', '122'], ['Spokane', 'WA', '992'], ['Tulsa', 'OK', '741'],
  ['Fresno', 'CA', '937'], ['Lexington', 'KY', '405'], ['Providence', 'RI', '029'], ['Des Moines', 'IA', '503'],
];

/** Area codes used for phone numbers (real ones, so numbers look plausible). */
export const AREA_CODES = ['217', '503', '512', '303', '608', '614', '919', '208', '802', '912', '520', '402', '804', '518', '509', '918', '559', '859', '401', '515'] as const;

export const EMAIL_DOMAINS = ['gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com', 'proton.me', 'aol.com', 'fastmail.com'] as const;

export const PRODUCT_ADJECTIVES = [
  'Ergonomic', 'Rustic', 'Handcrafted', 'Organic', 'Vintage', 'Wireless', 'Stainless', 'Compact', 'Deluxe', 'Classic',
  'Lightweight', 'Waterproof', 'Bamboo', 'Ceramic', 'Leather', 'Cotton', 'Portable', 'Smart', 'Recycled', 'Premium',
] as const;

export const PRODUCT_NOUNS = [
  'Coffee Mug', 'Desk Lamp', 'Backpack', 'Water Bottle', 'Notebook', 'Headphones', 'Cutting Board', 'Throw Pillow', 'Yoga Mat', 'Wall Clock',
  'Tea Kettle', 'Phone Case', 'Sunglasses', 'Wallet', 'Candle', 'Plant Pot', 'Bluetooth Speaker', 'Chef Knife', 'Blanket', 'Keyboard',
] as const;

/** Order lifecycle: each status moves to the next, or to `cancelled` while not yet shipped. */
export const ORDER_STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
