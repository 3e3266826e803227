/** The structured facts behind the persons corpus, as written to `persons.json`. */

export type Gender = 'female' | 'male';

export interface City {
  name: string;
  country: string;
  capital: boolean;
  /** Where the city lies: on the country's river or on its coast. */
  water: 'river' | 'coast';
  known_for: string;
  university: string;
}

export interface Country {
  name: string;
  language: string;
  capital: string;
  cities: string[];
  currency: string;
  dialing_code: number;
  river: string;
  mountain: string;
  mountain_height: number;
  sea: string;
  animal: string;
  flower: string;
  dish: string;
  export: string;
  founded: number;
  festival_month: string;
}

export interface World {
  countries: Country[];
  cities: City[];
}

export interface LifeEvent {
  /** Past tense verb phrase: "won the kite festival in Corvina". */
  text: string;
  /** The same phrase with the verb in its base form, for questions: "win the kite festival in Corvina". */
  base: string;
  year: number;
}

export interface Work {
  title: string;
  year: number;
}

export interface Person {
  /** `p001`…`p200` for trained persons, `h001`… for the holdout. */
  id: string;
  full_name: string;
  first_name: string;
  last_name: string;
  gender: Gender;
  /** As written in the text: "14 March 1961". */
  birth_date: string;
  birth_date_iso: string;
  birthplace: string;
  country: string;
  address: string;
  /** The city of the address; the phone number carries its country's dialing code. */
  residence: string;
  email: string;
  phone: string;
  occupation: string;
  employer: string;
  mother: string;
  father: string;
  event: LifeEvent;
  works: [Work, Work];
  education: { field: string; university: string };
  hobby: string;
}
