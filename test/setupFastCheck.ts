/*
 * fast-check runs every property from one fixed seed unless FC_SEED says otherwise, so the
 * suite is reproducible (CI gives the same verdict twice). To explore new cases, run
 * `FC_SEED=random npm test` or pick a seed (`FC_SEED=12345`); a failure prints its seed and
 * path for fc.assert's `{ seed, path }` to replay it.
 */
import fc from 'fast-check';

const env = process.env.FC_SEED;
if (env !== 'random') {
  const seed = env === undefined || env === '' ? 231 : Number(env);
  if (!Number.isInteger(seed)) throw new Error(`FC_SEED: expected an integer or "random", got ${JSON.stringify(env)}`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}
