// Word lists the seeder draws from. Display names carry Yoruba/Igbo diacritics and apostrophes on
// purpose (values a backup must round-trip); the ASCII twin of each name builds usernames and emails.

/** [display, ascii] pairs. */
export const FIRST_NAMES: ReadonlyArray<readonly [string, string]> = [
  ['Adéwálé', 'adewale'],
  ['Ọlá', 'ola'],
  ['Chinedu', 'chinedu'],
  ['Ngozi', 'ngozi'],
  ['Oluwaseun', 'oluwaseun'],
  ['Funmilayo', 'funmilayo'],
  ['Emeka', 'emeka'],
  ['Aisha', 'aisha'],
  ['Ibrahim', 'ibrahim'],
  ['Kwame', 'kwame'],
  ['Ama', 'ama'],
  ['Kofi', 'kofi'],
  ['Akosua', 'akosua'],
  ['Yaw', 'yaw'],
  ['Efua', 'efua'],
  ['Tunde', 'tunde'],
  ['Bola', 'bola'],
  ['Chiamaka', 'chiamaka'],
  ['Ifeoma', 'ifeoma'],
  ['Uche', 'uche'],
  ['Musa', 'musa'],
  ['Zainab', 'zainab'],
  ['Halima', 'halima'],
  ['Fẹ́mi', 'femi'],
  ['Yetunde', 'yetunde'],
  ['Abena', 'abena'],
  ['Kwabena', 'kwabena'],
  ['Nana', 'nana'],
  ['Esi', 'esi'],
  ['Ṣẹgun', 'segun'],
  ['Ìfẹ́olúwa', 'ifeoluwa'],
  ['Obinna', 'obinna'],
];

/** [display, ascii] pairs. */
export const LAST_NAMES: ReadonlyArray<readonly [string, string]> = [
  ['Okafor', 'okafor'],
  ['Adeyemi', 'adeyemi'],
  ['Ọlánrewájú', 'olanrewaju'],
  ['Eze', 'eze'],
  ['Nwosu', 'nwosu'],
  ['Bello', 'bello'],
  ['Abubakar', 'abubakar'],
  ['Mensah', 'mensah'],
  ['Owusu', 'owusu'],
  ['Boateng', 'boateng'],
  ['Asante', 'asante'],
  ['Ogunleye', 'ogunleye'],
  ['Okonkwo', 'okonkwo'],
  ['Adebayo', 'adebayo'],
  ['Danjuma', 'danjuma'],
  ['Quaye', 'quaye'],
  ['Appiah', 'appiah'],
  ['Ògúnbíyìí', 'ogunbiyi'],
  ['Ibekwe', 'ibekwe'],
  ['Obi', 'obi'],
  ["O'Neal-Mensah", 'onealmensah'],
  ['Oyelaran', 'oyelaran'],
  ['Agyeman', 'agyeman'],
  ['Yusuf', 'yusuf'],
];

export const LOCATIONS: readonly string[] = [
  'Ikeja, Lagos',
  'Surulere, Lagos',
  'Ibadan',
  'Abeokuta',
  'Oṣogbo',
  'Kano',
  'Kaduna',
  'Enugu',
  'Onitsha',
  'Aba',
  'Port Harcourt',
  'Benin City',
  'Accra',
  'Kumasi',
  'Tamale',
  'Takoradi',
];

export const TRADES: readonly string[] = [
  'Market Women',
  'Tailors',
  'Potters',
  'Artisans',
  'Farmers',
  'Traders',
  'Weavers',
  'Fishmongers',
  'Hairdressers',
  'Carpenters',
  'Transporters',
  'Food Vendors',
];

export const STREETS: readonly string[] = [
  'Allen Avenue',
  'Awolowo Road',
  'Ring Road',
  'Oxford Street',
  'Adeola Odeku Street',
  'Zik Avenue',
  'Independence Avenue',
  'Herbert Macaulay Way',
  'Ahmadu Bello Way',
  'Liberation Road',
];

/**
 * The loan products: [name, description | null, rate over the whole term, min, max, months].
 * min < max and (max - min) is a multiple of 500, which the principal formula relies on.
 */
export const LOAN_PRODUCTS: ReadonlyArray<readonly [string, string | null, string, string, string, number]> = [
  ['Market Women Micro Loan', 'Weekly-collection loan for market stalls', '0.1000', '10000.00', '200000.00', 6],
  [
    'Artisan Tools Loan',
    'Tools and equipment for potters, tailors and carpenters',
    '0.1500',
    '50000.00',
    '500000.00',
    12,
  ],
  ['Farm Input Loan', 'Seeds, fertiliser and harvest-time repayment', '0.1250', '20000.00', '300000.00', 9],
  ['Emergency Loan', null, '0.0500', '5000.00', '50000.00', 3],
  ['School Fees Loan', 'Term fees paid directly to the school', '0.0800', '15000.00', '250000.00', 6],
  [
    'Small Business Expansion',
    'Second-cycle loan for members with a clean "track record"',
    '0.2000',
    '100000.00',
    '1500000.00',
    18,
  ],
  [
    'Group Solidarity Loan',
    'Joint liability; see policy C:\\policies\\group.pdf',
    '0.1100',
    '10000.00',
    '150000.00',
    6,
  ],
  ['Asset Finance', 'Deep freezers, sewing machines, kilns', '0.2250', '80000.00', '1200000.00', 24],
  ['Housing Improvement', null, '0.1800', '50000.00', '800000.00', 18],
  ['Festive Season Loan', 'Ọdún/Christmas stock-up', '0.0650', '10000.00', '100000.00', 3],
  ['Transport Loan', 'Okada, keke and trotro operators', '0.1700', '60000.00', '900000.00', 12],
  ['Health Loan', 'Hospital bills\nRepaid monthly', '0.0400', '5000.00', '120000.00', 6],
  ['Agro Processing Loan', null, '0.1350', '40000.00', '600000.00', 12],
  ['Women Empowerment Loan', 'Members of women-led unions only', '0.0900', '10000.00', '250000.00', 9],
  ['Youth Starter Loan', 'Ages 18–35', '0.1200', '10000.00', '180000.00', 9],
  ['Salary Advance', 'For salaried members', '0.0300', '5000.00', '100000.00', 3],
  ['Equipment Lease', null, '0.1950', '100000.00', '2000000.00', 24],
  ['Cooperative Bulk Purchase', 'Union-level bulk stock purchase', '0.1050', '200000.00', '3000000.00', 12],
  ['Renewal Loan', 'Top-up for members who repaid in full', '0.1400', '20000.00', '400000.00', 9],
  ['Diaspora Remittance Bridge', null, '0.0750', '10000.00', '300000.00', 6],
];

/** Free-text notes, with the characters that break naive escaping. Empty string differs from NULL. */
export const NOTES: readonly string[] = [
  'Paid at the branch',
  'Customer said "I will pay on Friday"',
  "Member's guarantor: O'Brien & Sons",
  'Receipt scanned to C:\\receipts\\2024\\march',
  'First line\nSecond line\n\tindented third',
  'Paid in full 👍🏾',
  'Ọjà ọba — collected at the market',
  '',
  'Tab\tseparated;semicolon,comma|pipe',
  'Back\\slash at the end\\',
];

export const USER_AGENTS: readonly string[] = [
  'Mozilla/5.0 (Linux; Android 13; TECNO KI7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 ' +
    'Mobile/15E148 Safari/604.1',
  'MillenniumPotters-Android/3.2.1 (Infinix X6816)',
  'curl/8.5.0',
];
