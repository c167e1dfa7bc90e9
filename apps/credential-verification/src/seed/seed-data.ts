/** Vocabulary for realistic demo data: issuers, people and the credentials they award. */

export const FIRST_NAMES = [
  'Amara', 'Liam', 'Sofia', 'Noah', 'Priya', 'Mateo', 'Yuki', 'Olivia', 'Kwame', 'Elena', 'Arjun', 'Chloe', 'Diego', 'Fatima',
  'Hannah', 'Ivan', 'Jasmine', 'Kenji', 'Leila', 'Marcus', 'Nadia', 'Oscar', 'Paula', 'Rafael', 'Sara', 'Tomás', 'Uma',
  'Victor', 'Wen', 'Zara', 'Aisha', 'Benjamin', 'Camila', 'Daniel', 'Emeka', 'Freya', 'Gabriel', 'Ines', 'Jonas', 'Mei',
];

export const LAST_NAMES = [
  'Okafor', 'Smith', 'García', 'Müller', 'Patel', 'Rossi', 'Tanaka', 'Johnson', 'Mensah', 'Novak', 'Sharma', 'Dubois',
  'Hernández', 'Haddad', 'Kowalski', 'Petrov', 'Nguyen', 'Sato', 'Rahman', 'Williams', 'Ibrahim', 'Lindqvist', 'Moreau',
  'Costa', 'Silva', 'Kim', 'Chen', 'Andersen', 'OBrien', 'Fischer', 'Adeyemi', 'Kaur', 'Yilmaz', 'Santos', 'Larsen',
];

export const ORG_NAMES = [
  'Northbridge University', 'Lumen Institute of Technology', 'Harbourside Business School', 'Cascade Cloud Academy',
  'St. Aldric College of Nursing', 'Meridian Data Science Institute', 'Orion Aviation Training Centre',
  'Greenfield Community College', 'Kestrel Cybersecurity Academy', 'Riverside School of Design',
  'Summit Project Management Institute', 'Atlas Language Centre', 'Pioneer Engineering Council',
  'Evergreen Culinary Institute', 'Beacon Financial Analysts Board', 'Coral Coast Maritime Academy',
  'Helix Biomedical Training', 'Quantum Leap Coding Bootcamp', 'Vista Hospitality Academy', 'Ironwood Trades Guild',
  'Polaris Leadership Forum', 'Sapphire Music Conservatory', 'Redwood Environmental Institute',
  'Aurora Film & Media School', 'Granite State Bar Association', 'Nimbus Agile Alliance', 'Solace Counselling Board',
  'Tidewater Teaching Council', 'Zenith Robotics Lab', 'Willow Early Years Academy',
];

export const CREDENTIAL_TITLES = [
  'Bachelor of Science in Computer Engineering', 'Master of Business Administration', 'Certified Cloud Practitioner',
  'Professional Data Analyst Certificate', 'Registered Nurse Continuing Education (40 CE hours)',
  'Certificate in Project Management', 'Award of Excellence — Annual Ceremony', 'Dean’s List Honours',
  'Advanced Cybersecurity Specialist', 'Diploma in Graphic Design', 'Commercial Pilot Ground School Completion',
  'Certified Scrum Master', 'Food Safety Level 3', 'Chartered Financial Analyst Level I', 'Maritime Safety Officer',
  'Full-Stack Web Development Bootcamp', 'Hospitality Management Diploma', 'Master Electrician Licence',
  'Leadership Excellence Programme', 'Grade 8 Piano Performance', 'Environmental Impact Assessment Certificate',
  'Documentary Filmmaking Certificate', 'Bar Admission Course', 'Agile Coaching Fundamentals',
  'Licensed Professional Counsellor CPD', 'Teaching English as a Foreign Language (TEFL)', 'Robotics Engineering Nanodegree',
  'Early Childhood Education Diploma', 'Machine Learning Specialisation', 'First Aid at Work',
];

export const VERIFICATION_MESSAGES = [
  'Thank you for verifying. Credentials are issued only after assessment by our academic board.',
  'Employers: contact our registrar for transcripts.',
  'This credential is recognised by the national qualifications framework.',
  '',
];

export const HEADLINES = ['Software engineer', 'Registered nurse', 'Data analyst', 'Student', 'Project manager', 'Designer', 'Teacher', 'Pilot', ''];

export const BRAND_COLORS = ['#1f4e79', '#7a1f5c', '#0b6e4f', '#b54708', '#3d3a8c', '#8a1c1c', '#00606e', '#4a5a1c'];
