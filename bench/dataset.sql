-- The BENCH.md data set, built deterministically: a fixed setseed() and
-- generate_series in one session, so every run gets the same rows (ids from
-- fresh bigserials: users 1..10000, posts 1..100000, comments 1..300000).
--
--   psql -v ON_ERROR_STOP=1 -f bench/dataset.sql "$DATABASE_URL"
--
-- Tables are loaded first and constrained and indexed afterwards (the same
-- schema as declaring it all up front, built much faster).
\set QUIET on
set client_min_messages = warning;
-- random() must be called in one fixed order: no parallel plans.
set max_parallel_workers_per_gather = 0;
set synchronous_commit = off;

drop table if exists comments, posts, users cascade;

create table users (
  id bigserial primary key,
  email text not null,
  name text not null,
  created_at timestamptz not null default now()
);

create table posts (
  id bigserial primary key,
  author_id bigint not null,
  title text not null,
  body text not null,
  published boolean not null default false,
  created_at timestamptz not null
);

create table comments (
  id bigserial primary key,
  post_id bigint not null,
  author_id bigint not null,
  body text not null
);

begin;
select setseed(0.4242) \g /dev/null

-- 10,000 users.
insert into users (email, name, created_at)
select 'user' || g || '@example.com',
       (array['Ada','Alan','Barbara','Claude','Donald','Edsger','Frances','Grace',
              'John','Ken','Leslie','Margaret','Niklaus','Radia','Tony','Barbara'])[1 + (g * 7) % 16]
         || ' ' ||
       (array['Lovelace','Turing','Liskov','Shannon','Knuth','Dijkstra','Allen','Hopper',
              'Backus','Thompson','Lamport','Hamilton','Wirth','Perlman','Hoare','Stroustrup'])[1 + (g * 11) % 16]
         || ' ' || g,
       timestamptz '2023-01-01 00:00:00+00' + random() * interval '365 days'
from generate_series(1, 10000) g
order by g;

-- 100,000 posts: 10 per user, about two thirds published, a body of about
-- 170 characters.
insert into posts (author_id, title, body, published, created_at)
select 1 + (g - 1) % 10000,
       'Post number ' || g || ': ' || substr(md5(random()::text), 1, 16),
       'Body ' || md5(random()::text) || ' ' || md5(random()::text) || ' ' || md5(random()::text)
         || ' ' || md5(random()::text) || ' ' || md5(random()::text),
       random() < 2.0 / 3.0,
       timestamptz '2024-01-01 00:00:00+00' + random() * interval '365 days'
from generate_series(1, 100000) g
order by g;

-- 300,000 comments spread over random posts by random users.
insert into comments (post_id, author_id, body)
select 1 + floor(random() * 100000)::bigint,
       1 + floor(random() * 10000)::bigint,
       'Comment ' || g || ' ' || md5(random()::text)
from generate_series(1, 300000) g
order by g;
commit;

alter table users add constraint users_email_key unique (email);
alter table posts add constraint posts_author_id_fkey
  foreign key (author_id) references users on delete cascade;
alter table comments add constraint comments_post_id_fkey
  foreign key (post_id) references posts on delete cascade;
alter table comments add constraint comments_author_id_fkey
  foreign key (author_id) references users on delete cascade;
create index posts_author_created_idx on posts (author_id, created_at desc);
create index comments_post_id_idx on comments (post_id, id desc);

vacuum analyze users;
vacuum analyze posts;
vacuum analyze comments;

select format('users %s, posts %s (%s published), comments %s; post body %s characters on average',
  (select count(*) from users), (select count(*) from posts),
  (select count(*) from posts where published), (select count(*) from comments),
  (select round(avg(length(body))) from posts));
