/**
 * drizzle-kit reads this to generate `drizzle/` from `src/schema.ts`: `npm run db:generate -w
 * packages/store-postgres` (add `-- --custom --name what` for a hand-written migration). The
 * generated SQL names no schema; the store applies it inside its own schema (see src/migrate.ts).
 */
import { defineConfig } from 'drizzle-kit'

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './drizzle',
})
