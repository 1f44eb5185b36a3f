/**
 * The taco example's API, written as plain interfaces. tools/otogen reads
 * this file: an interface with methods is a service, an interface with
 * fields is an object, and the doc comments become the generated code's
 * comments, validation rules and API docs.
 */

/**
 * TacoService is a service for eating tacos.
 */
export interface TacoService {
  /**
   * EatTaco records that you have eaten some tacos, and tells you how many.
   */
  eatTaco(request: EatTacoRequest): EatTacoResponse;
  /**
   * TacoTally tells you how many tacos someone has eaten, and in how many orders.
   */
  tacoTally(request: TacoTallyRequest): TacoTallyResponse;
}

/**
 * EatTacoRequest is the request object for TacoService.EatTaco.
 */
export interface EatTacoRequest {
  /**
   * Name is your name.
   * @example "Sammy Sosa"
   * @minLength 1
   * @maxLength 200
   */
  name: string;
  /**
   * All of the Tacos you have consumed 🌮
   * @example ["Chicken", "Chorizo"]
   * @minItems 1
   * @maxItems 1000
   */
  tacos: string[];
}

/**
 * EatTacoResponse is the response object for TacoService.EatTaco.
 */
export interface EatTacoResponse {
  /**
   * Your current taco consumption status.
   * @example "Sammy Sosa has consumed 2 tacos"
   */
  tacoConsumptionStatus: string;
}

/**
 * TacoTallyRequest is the request object for TacoService.TacoTally.
 */
export interface TacoTallyRequest {
  /**
   * Name is whose tacos to count, as they gave it to EatTaco.
   * @example "Sammy Sosa"
   * @minLength 1
   * @maxLength 200
   */
  name: string;
}

/**
 * TacoTallyResponse is the response object for TacoService.TacoTally.
 */
export interface TacoTallyResponse {
  /**
   * Tacos is how many tacos they have eaten in all.
   * @example 6
   * @integer
   */
  tacos: number;
  /**
   * Orders is how many times they called EatTaco.
   * @example 3
   * @integer
   */
  orders: number;
}
