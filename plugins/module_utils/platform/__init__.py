"""The components and platforms as data: the component registry, platforms/*.yml and components/v1.<minor>.yml."""
