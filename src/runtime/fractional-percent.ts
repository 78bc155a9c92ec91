/**
 * `envoy.type.v3.FractionalPercent` for the runtime: reading one from its proto3 JSON form,
 * and deciding whether a random draw falls inside it.
 *
 * Pure functions, any thread (workers evaluate, main parses). Envoy counterpart:
 * `ProtobufPercentHelper::evaluateFractionalPercent`, `fractionalPercentDenominatorToInt`.
 */
import type { FractionalDenominator, FractionalPercent } from './types.ts';

const DENOMINATORS: readonly FractionalDenominator[] = ['HUNDRED', 'TEN_THOUSAND', 'MILLION'];
const DENOMINATOR_VALUES: Readonly<Record<FractionalDenominator, number>> = {
  HUNDRED: 100,
  TEN_THOUSAND: 10_000,
  MILLION: 1_000_000,
};
const UINT32_MAX = 4294967295;
const INTEGER = /^[+-]?\d+$/;

/** 100, 10 000 or 1 000 000. */
export function denominatorValue(d: FractionalDenominator): number {
  return DENOMINATOR_VALUES[d];
}

/** Whether a uniform `randomValue` falls in the share `percent` allows. */
export function evaluateFractionalPercent(percent: FractionalPercent, randomValue: number): boolean {
  return randomValue % denominatorValue(percent.denominator) < percent.numerator;
}

/**
 * A FractionalPercent in proto3 JSON: only `numerator` (uint32, a number or its decimal
 * string) and `denominator` (an enum name or number; HUNDRED when unset). Anything else,
 * an unknown field or a value out of range, is not one.
 */
export function fractionalFromObject(o: Readonly<Record<string, unknown>>): FractionalPercent | undefined {
  let numerator = 0;
  let denominator: FractionalDenominator = 'HUNDRED';
  for (const [field, value] of Object.entries(o)) {
    if (field === 'numerator') {
      const n = typeof value === 'string' && INTEGER.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > UINT32_MAX) return undefined;
      numerator = n;
    } else if (field === 'denominator') {
      const d = typeof value === 'number' ? DENOMINATORS[value] : DENOMINATORS.find((name) => name === value);
      if (d === undefined) return undefined;
      denominator = d;
    } else {
      return undefined;
    }
  }
  return { numerator, denominator };
}
